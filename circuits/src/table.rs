//! The one tagged lookup table `(tag, x, f(x))` that serves every table function of a model,
//! so the circuit has two lookup arguments however many functions it uses.
//!
//! Tag 1 is the range table: rows `(x, x)` for `x ∈ [0, 2^l)`, `l` the limb width. Every range
//! check goes through it, limb by limb (see `layout::range`), so no function table doubles as
//! a range check and precision does not set the table size. Then one block of rows per
//! function that needs a table (identity, ReLU and the sign test need none): the saturating
//! functions over their own non-saturated interval, the others over the activation range.

use zkinfer_ir::{Graph, Op, TableBounds, TableFn};

/// The table functions a model uses, each with its tag (tag 0 is the all-zero row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSet {
    pub bounds: TableBounds,
    range_fn: TableFn,
    fns: Vec<TableFn>,
}

impl TableSet {
    pub fn for_graph(graph: &Graph, bounds: &TableBounds) -> Self {
        let range_fn = TableFn::Range {
            bits: bounds.limbs(),
        };
        let mut fns = Vec::new();
        for node in &graph.nodes {
            match &node.op {
                Op::Rescale(rs) if rs.table.needs_table() => fns.push(rs.table),
                Op::Softmax(sm) => {
                    let split = sm.split();
                    fns.extend([split.hi(), split.lo()]);
                }
                Op::Rescale(_)
                | Op::Input(_)
                | Op::Dense(_)
                | Op::Binary(_)
                | Op::Affine(_)
                | Op::Reshape
                | Op::Transpose(_)
                | Op::Concat(_)
                | Op::Gather(_)
                | Op::Remap(_)
                | Op::Linear(_)
                | Op::Max(_)
                | Op::ArgMax(_)
                | Op::Div(_)
                | Op::Mean(_)
                | Op::IntDiv(_)
                | Op::Select(_)
                | Op::TopK(_)
                | Op::OneHot(_)
                | Op::MatMul => {}
            }
        }
        fns.sort();
        fns.dedup();
        fns.retain(|f| *f != range_fn);
        fns.insert(0, range_fn);
        Self {
            bounds: *bounds,
            range_fn,
            fns,
        }
    }

    /// The range table's function: rows `(x, x)` for `x ∈ [0, 2^l)`.
    pub fn range_fn(&self) -> TableFn {
        self.range_fn
    }

    /// Bits per limb.
    pub fn limb_bits(&self) -> u32 {
        self.bounds.limbs()
    }

    /// The tag of `f`, or `None` if the table does not hold it.
    pub fn tag(&self, f: &TableFn) -> Option<u64> {
        self.fns.iter().position(|g| g == f).map(|i| i as u64 + 1)
    }

    /// The multiplier that makes the range table check `r < 2^shift`, if `shift ≤ l`.
    pub fn range_mul(&self, shift: u32) -> Option<i64> {
        let l = self.limb_bits();
        (shift <= l).then(|| 1i64 << (l - shift))
    }

    /// Number of table rows, the zero row included.
    pub fn rows(&self) -> usize {
        1 + self.fns.iter().map(|f| f.rows(&self.bounds)).sum::<usize>()
    }

    pub fn functions(&self) -> &[TableFn] {
        &self.fns
    }

    /// Every row `(tag, x, f(x))`, the zero row first.
    pub fn entries(&self) -> impl Iterator<Item = (u64, i64, i64)> + '_ {
        std::iter::once((0, 0, 0)).chain(self.fns.iter().enumerate().flat_map(move |(i, f)| {
            let (min, max) = f.domain(&self.bounds);
            (min..max).map(move |x| (i as u64 + 1, x, f.apply(x)))
        }))
    }
}
