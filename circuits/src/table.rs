//! The one tagged lookup table `(tag, x, f(x))` that serves every table function of a model,
//! so the circuit has two lookup arguments however many functions it uses.
//!
//! The *bound* function is always ReLU: its rows are `(x, x)` exactly for `x ∈ [0, pos)` and
//! `(x, 0)` for negative `x`, so a lookup of `(v, v)` is a range check `v ∈ [0, pos)` — a
//! remainder `r < 2^s` is checked as `(pos / 2^s)·r ∈ [0, pos)`, exact because `pos` is a
//! multiple of `2^s` — and a lookup of `(q, relu(q))` bounds a signed `q` to `[-neg, pos)`. No
//! identity or range table is needed. (An identity table would not do: its rows `(x, x)` for
//! negative `x` would let negative remainders through.)

use zkinfer_ir::{Graph, Op, TableBounds, TableFn};

/// The table functions a model uses, each with its tag (tag 0 is the all-zero row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSet {
    pub bounds: TableBounds,
    bound_fn: TableFn,
    fns: Vec<TableFn>,
}

impl TableSet {
    pub fn for_graph(graph: &Graph, bounds: &TableBounds) -> Self {
        let mut fns = vec![TableFn::Relu];
        for node in &graph.nodes {
            match &node.op {
                Op::Rescale(rs) => match rs.table {
                    TableFn::Relu | TableFn::Identity => {}
                    other => fns.push(other),
                },
                Op::Softmax(sm) => fns.push(sm.exp),
                Op::Input(_)
                | Op::Dense(_)
                | Op::Binary(_)
                | Op::Affine(_)
                | Op::Reshape
                | Op::Transpose(_)
                | Op::Concat(_)
                | Op::Gather(_)
                | Op::Linear(_)
                | Op::Max(_)
                | Op::ArgMax(_)
                | Op::Div(_)
                | Op::Mean(_)
                | Op::MatMul => {}
            }
        }
        fns.sort();
        fns.dedup();
        Self {
            bounds: *bounds,
            bound_fn: TableFn::Relu,
            fns,
        }
    }

    /// The function that bounds signed values and serves range checks.
    pub fn bound_fn(&self) -> TableFn {
        self.bound_fn
    }

    /// The function actually looked up for `f`: identity is checked against the bound
    /// function (ReLU's rows bound `x` just as well).
    pub fn lookup_fn(&self, f: &TableFn) -> TableFn {
        match f {
            TableFn::Identity => self.bound_fn,
            other => *other,
        }
    }

    /// The tag of `f`, or `None` if the table does not hold it.
    pub fn tag(&self, f: &TableFn) -> Option<u64> {
        let f = self.lookup_fn(f);
        self.fns.iter().position(|g| *g == f).map(|i| i as u64 + 1)
    }

    /// The multiplier that makes `[0, pos)` check `r < 2^shift`, if `2^shift` divides `pos`.
    pub fn range_mul(&self, shift: u32) -> Option<i64> {
        let unit = 1i64.checked_shl(shift)?;
        (self.bounds.pos % unit == 0).then(|| self.bounds.pos / unit)
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
