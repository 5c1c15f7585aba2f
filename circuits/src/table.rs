//! The one tagged lookup table `(tag, x, f(x))` that serves every table function of a model,
//! so the circuit has few lookup arguments however many functions it uses.

use zkinfer_ir::{softmax_range_bits, Graph, Op, TableFn};

/// The table functions a model uses, each with its tag (tag 0 is the all-zero row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSet {
    pub table_bits: u32,
    /// Bits of the one range function, `Range { bits: range_bits }`.
    pub range_bits: u32,
    fns: Vec<TableFn>,
}

impl TableSet {
    /// The functions `graph` looks up. Every remainder is checked against one range function
    /// (scaled by `2^(range_bits - shift)`), so rescales of any shift share it.
    pub fn for_graph(graph: &Graph, table_bits: u32) -> Self {
        let mut range_bits = 0;
        let mut fns = Vec::new();
        for node in &graph.nodes {
            match &node.op {
                Op::Rescale(rs) => {
                    range_bits = range_bits.max(rs.max_shift());
                    fns.push(rs.table);
                }
                Op::Softmax(sm) => {
                    let n = node.shape.last().copied().unwrap_or(1);
                    range_bits = range_bits.max(softmax_range_bits(sm, n));
                    fns.push(sm.exp);
                    fns.push(TableFn::Identity);
                }
                Op::Input(_)
                | Op::Dense(_)
                | Op::Binary(_)
                | Op::Affine(_)
                | Op::Reshape
                | Op::Transpose(_)
                | Op::Concat(_)
                | Op::Gather(_) => {}
            }
        }
        fns.push(TableFn::Range { bits: range_bits });
        fns.sort();
        fns.dedup();
        Self {
            table_bits,
            range_bits,
            fns,
        }
    }

    pub fn range(&self) -> TableFn {
        TableFn::Range {
            bits: self.range_bits,
        }
    }

    /// The tag of `f`, or `None` if the model does not use it.
    pub fn tag(&self, f: &TableFn) -> Option<u64> {
        self.fns.iter().position(|g| g == f).map(|i| i as u64 + 1)
    }

    /// Number of table rows, the zero row included.
    pub fn rows(&self) -> usize {
        1 + self
            .fns
            .iter()
            .map(|f| f.rows(self.table_bits))
            .sum::<usize>()
    }

    pub fn functions(&self) -> &[TableFn] {
        &self.fns
    }

    /// Every row `(tag, x, f(x))`, the zero row first.
    pub fn entries(&self) -> impl Iterator<Item = (u64, i64, i64)> + '_ {
        std::iter::once((0, 0, 0)).chain(self.fns.iter().enumerate().flat_map(move |(i, f)| {
            let (min, max) = f.domain(self.table_bits);
            (min..max).map(move |x| (i as u64 + 1, x, f.apply(x)))
        }))
    }
}
