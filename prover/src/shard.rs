//! Sharded proving: cutting a compiled model into shards of consecutive nodes (balanced by
//! estimated proving cost, or at named nodes), and the activations files that one node hands
//! to the next.

use std::path::Path;

use serde::{Deserialize, Serialize};
use zkinfer_circuits::{lay_out_with, plan_with, poseidon, CircuitParams, DryRun, Plan, TableSet};
use zkinfer_ir::{live_at, CompiledModel, Graph, Settings, ShardInfo, TableBounds, Tensor, Trace};
use zkinfer_verifier::fr_to_hex;

use crate::ProveError;

/// Where to cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cuts {
    /// Into this many shards of about equal estimated proving cost.
    Balanced(usize),
    /// After each of these nodes (their names in the compiled model, as `inspect` and
    /// `split` print them).
    At(Vec<String>),
}

/// One shard: a compiled model of its own, the nodes of the parent it holds, and its plan.
#[derive(Clone, Debug)]
pub struct Shard {
    pub model: CompiledModel,
    /// Parent node ids `start..end`.
    pub nodes: (usize, usize),
    pub plan: Plan,
}

fn split_error(reason: impl Into<String>) -> ProveError {
    ProveError::Split {
        reason: reason.into(),
    }
}

/// Layout rows each node of the model takes with `lanes` lanes (the rows from its first
/// placement to the next node's), from a dry run of the unsharded circuit.
fn node_rows(model: &CompiledModel, lanes: usize) -> Result<Vec<usize>, ProveError> {
    let g = &model.graph;
    let tables = TableSet::for_graph(g, &model.settings.table);
    let params = CircuitParams::for_graph(g, lanes);
    let report = lay_out_with(&mut DryRun::default(), g, params, &tables, None)?;
    let mut start = vec![None; g.nodes.len()];
    for p in &report.placements {
        let s = &mut start[p.node];
        *s = Some(s.map_or(p.row, |r: usize| r.min(p.row)));
    }
    let mut rows = vec![0; g.nodes.len()];
    let mut next = report.rows;
    for id in (0..g.nodes.len()).rev() {
        if let Some(s) = start[id] {
            rows[id] = next.saturating_sub(s);
            next = s;
        }
    }
    Ok(rows)
}

/// One node of a model as a place to cut after: its layout rows (at the narrowest layout),
/// the values a cut after it hands on, whether they are packed, and the rows the two
/// commitments to them add.
#[derive(Clone, Debug)]
pub struct CutPoint {
    pub rows: usize,
    pub values: usize,
    pub packed: bool,
    pub commit_rows: usize,
}

/// Every node of `model` as a cut point (`--list`); the last node's hands on nothing.
pub fn cut_points(model: &CompiledModel) -> Result<Vec<CutPoint>, ProveError> {
    let g = &model.graph;
    let rows = node_rows(model, zkinfer_circuits::lane_choices(false)[0])?;
    Ok((0..g.nodes.len())
        .map(|id| {
            let live = live_at(g, id + 1);
            let inner = id + 1 < g.nodes.len();
            let (recv, send) = match inner {
                true => commit_rows(model, id + 1),
                false => (0, 0),
            };
            CutPoint {
                rows: rows[id],
                values: live.iter().map(|&i| g.nodes[i].len()).sum(),
                packed: inner
                    && poseidon::boundary_packing(g, &live, &model.settings.table).is_some(),
                commit_rows: recv + send,
            }
        })
        .collect())
}

/// The tensors a commitment at `cut` covers: those live across it, or at 0 the model's
/// inputs (a chain that hashes its input).
fn boundary(g: &Graph, cut: usize) -> Vec<zkinfer_ir::NodeId> {
    match cut {
        0 => g.inputs.clone(),
        _ => live_at(g, cut),
    }
}

/// Rows the Poseidon commitments to the tensors live at `cut` take: `(in the shard that
/// receives them, in the shard that hands them on)`.
fn commit_rows(model: &CompiledModel, cut: usize) -> (usize, usize) {
    let g = &model.graph;
    let live = boundary(g, cut);
    let n: usize = live.iter().map(|&i| g.nodes[i].len()).sum();
    let packing = poseidon::boundary_packing(g, &live, &model.settings.table);
    (
        zkinfer_circuits::commit_rows(n, packing, true),
        zkinfer_circuits::commit_rows(n, packing, false),
    )
}

/// Cut points minimising the largest shard's estimated proving work (its nodes' rows plus the
/// commitments at its ends, at the lane count the planner would pick), by dynamic programming
/// over the cut positions.
fn balanced_cuts(
    model: &CompiledModel,
    shards: usize,
    hash_input: bool,
) -> Result<Vec<usize>, ProveError> {
    let g = &model.graph;
    let first = zkinfer_ir::first_cut(g);
    let n = g.nodes.len();
    // A cut at c ends a shard after node c - 1.
    let positions: Vec<usize> = (first..n).collect();
    if shards == 0 || shards - 1 > positions.len() {
        return Err(split_error(format!(
            "the model has {} nodes after its inputs; it cannot be split into {shards} shards",
            (n + 1).saturating_sub(first)
        )));
    }
    // Prefix sums of the node rows at each lane count the planner may pick.
    let lanes = zkinfer_circuits::lane_choices(false);
    let mut prefix: Vec<Vec<usize>> = Vec::with_capacity(lanes.len());
    for &l in lanes {
        let rows = node_rows(model, l)?;
        let mut p = vec![0usize; n + 1];
        for i in 0..n {
            p[i + 1] = p[i] + rows[i];
        }
        prefix.push(p);
    }
    let table_rows = TableSet::for_graph(g, &model.settings.table).rows();
    let commits: Vec<(usize, usize)> = (0..=n)
        .map(|c| match c {
            0 if hash_input => (commit_rows(model, 0).0, 0),
            _ if c == 0 || c == n => (0, 0),
            _ => commit_rows(model, c),
        })
        .collect();
    let params = |l: usize, lo: usize, hi: usize| CircuitParams {
        commit_inputs: lo > 0 || hash_input,
        commit_outputs: hi < n,
        ..CircuitParams::for_graph(g, l)
    };
    // Blinding rows depend on the gates only: one count per lane choice.
    let blinding: Vec<usize> = lanes
        .iter()
        .map(|&l| zkinfer_circuits::blinding_factors(params(l, 1, 1)))
        .collect();
    // A shard's cost: the least proving work over the lane counts, as the planner will
    // choose, and its layout rows at that lane count.
    let cost = |lo: usize, hi: usize| -> (u64, u64) {
        lanes
            .iter()
            .zip(&prefix)
            .zip(&blinding)
            .map(|((&l, p), &b)| {
                let rows = p[hi] - p[lo] + commits[lo].0 + commits[hi].1;
                let work = zkinfer_circuits::work_at(params(l, lo, hi), rows.max(table_rows), b).1;
                (work, rows as u64)
            })
            .min()
            .unwrap_or((u64::MAX, u64::MAX))
    };
    // best[s][i]: the least (largest work, total work, largest rows, total rows) of cutting
    // nodes 0..i into s + 1 shards, and the cut before the last of them. Of two splits whose
    // slowest shard is as slow, the one with less work in all; then (where the lookup table
    // sets every shard's k, so that all cuts cost the same work) the one with the rows most
    // evenly spread, then the fewest rows (a cut that hands on a few packed values rather than
    // many accumulators).
    type Best = Option<((u64, u64, u64, u64), usize)>;
    let mut best: Vec<Vec<Best>> = vec![vec![None; n + 1]; shards];
    for &i in positions.iter().chain(std::iter::once(&n)) {
        let (c, r) = cost(0, i);
        best[0][i] = Some(((c, c, r, r), 0));
    }
    for s in 1..shards {
        for i in first + 1..=n {
            for &j in positions.iter().filter(|&&j| j < i) {
                if let Some(((m, t, mr, tr), _)) = best[s - 1][j] {
                    let (c, r) = cost(j, i);
                    let here = (m.max(c), t + c, mr.max(r), tr + r);
                    if best[s][i].is_none_or(|(b, _)| here < b) {
                        best[s][i] = Some((here, j));
                    }
                }
            }
        }
    }
    let mut cuts = Vec::with_capacity(shards - 1);
    let mut at = n;
    for s in (1..shards).rev() {
        let (_, j) = best[s][at].ok_or_else(|| split_error("no way to cut"))?;
        cuts.push(j);
        at = j;
    }
    cuts.reverse();
    Ok(cuts)
}

/// Cut points after the named nodes: a name cuts after the last node of that name (an ONNX
/// node may become several, as a product and its rescale), `#N` after node `N`.
fn named_cuts(g: &Graph, names: &[String]) -> Result<Vec<usize>, ProveError> {
    names
        .iter()
        .map(|name| {
            let by_id = name
                .strip_prefix('#')
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&i| i < g.nodes.len());
            by_id
                .or_else(|| g.nodes.iter().rposition(|n| &n.name == name))
                .map(|i| i + 1)
                .ok_or_else(|| {
                    split_error(format!(
                        "no node `{name}` in the model (`zkinfer split MODEL --list` prints them)"
                    ))
                })
        })
        .collect()
}

/// Cuts `model` into shards. Each is an ordinary compiled model (own keys, own proof) whose
/// settings name its place in the chain; the quantization is the parent's, so the chain's
/// output is the unsharded model's exactly. With `hash_input` the first shard's input is
/// public only as its Poseidon commitment, like an inner boundary.
pub fn split_model(
    model: &CompiledModel,
    cuts: &Cuts,
    hash_input: bool,
) -> Result<Vec<Shard>, ProveError> {
    if model.settings.packed {
        return Err(split_error(
            "the model is compiled with --evm (packed public values); split a model compiled without it",
        ));
    }
    if model.settings.shard.is_some() {
        return Err(split_error(
            "the model is itself a shard; split the original model",
        ));
    }
    let g = &model.graph;
    let cut_ids = match cuts {
        Cuts::Balanced(n) => balanced_cuts(model, *n, hash_input)?,
        Cuts::At(names) => named_cuts(g, names)?,
    };
    let graphs = zkinfer_ir::split(g, &cut_ids)?;
    let count = graphs.len();
    let parent = model.digest();
    let cut_names: Vec<String> = cut_ids
        .iter()
        .map(|&c| format!("#{} {}", c - 1, g.nodes[c - 1].name))
        .collect();
    let bounds: Vec<usize> = std::iter::once(0)
        .chain(cut_ids.iter().copied())
        .chain(std::iter::once(g.nodes.len()))
        .collect();
    graphs
        .into_iter()
        .enumerate()
        .map(|(index, graph)| {
            let packed_at = |c: usize| {
                poseidon::boundary_packing(g, &boundary(g, c), &model.settings.table).is_some()
            };
            let (lo, hi) = (bounds[index], bounds[index + 1]);
            let info = ShardInfo {
                index,
                count,
                parent: parent.clone(),
                cuts: cut_names.clone(),
                packed_inputs: (lo > 0 || hash_input) && packed_at(lo),
                packed_outputs: hi < g.nodes.len() && packed_at(hi),
                hashed_input: hash_input,
            };
            let public = CircuitParams {
                commit_inputs: info.commits_inputs(),
                commit_outputs: info.commits_outputs(),
                packed_inputs: info.packed_inputs,
                packed_outputs: info.packed_outputs,
                ..CircuitParams::default()
            };
            // Each shard chooses its own limb width (packing at the cuts depends only on the
            // activation range, which the shards share).
            let free = TableBounds {
                limb_bits: 0,
                ..model.settings.table
            };
            let plan = plan_with(&graph, &free, public)?;
            let (inputs, outputs) = Settings::io_from_graph(&graph);
            let settings = Settings {
                gelu_line: Settings::needs_gelu_line(&graph),
                booleans: Settings::needs_booleans(&graph),
                table: TableBounds {
                    limb_bits: plan.limb_bits,
                    ..model.settings.table
                },
                lanes: plan.lanes,
                freivalds: plan.freivalds,
                weight_lanes: plan.weight_lanes,
                packed: false,
                k: plan.k,
                rows: plan.rows,
                table_rows: plan.table_rows,
                inputs,
                outputs,
                shard: Some(info),
            };
            Ok(Shard {
                model: CompiledModel::new(graph, settings),
                nodes: (bounds[index], bounds[index + 1]),
                plan,
            })
        })
        .collect()
}

/// Format name of an activations file.
pub const ACTIVATIONS_FORMAT: &str = "zkinfer-activations";
/// Current version of the activations format.
pub const ACTIVATIONS_VERSION: u32 = 1;

/// One quantized tensor handed on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActivationTensor {
    pub name: String,
    pub shape: Vec<usize>,
    /// Fractional bits: the float value is `q / 2^scale`.
    pub scale: u32,
    pub values: Vec<i64>,
}

/// What a node hands to the next: its shard's quantized outputs and their Poseidon
/// commitment (the value its proof exposes, which the next proof must expose as its input).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Activations {
    pub format: String,
    pub version: u32,
    /// Digest of the shard that computed them, and its index in the chain.
    pub model_digest: String,
    pub shard: Option<usize>,
    pub tensors: Vec<ActivationTensor>,
    /// `0x…` Poseidon commitment to every value, in order.
    pub commitment: String,
}

impl Activations {
    /// The outputs of `model` in `trace`.
    pub fn from_trace(model: &CompiledModel, trace: &Trace) -> Self {
        let g = &model.graph;
        let tensors: Vec<ActivationTensor> = g
            .outputs
            .iter()
            .zip(&model.settings.outputs)
            .map(|(&o, info)| ActivationTensor {
                name: info.name.clone(),
                shape: info.shape.clone(),
                scale: info.scale,
                values: trace.values[o].data().to_vec(),
            })
            .collect();
        let all: Vec<i64> = tensors
            .iter()
            .flat_map(|t| t.values.iter().copied())
            .collect();
        let packing = model.settings.commitment_packing(false);
        // A value outside the packing's domain cannot be proven either; the proof fails first.
        let commitment = poseidon::commit_boundary(&all, packing).unwrap_or_default();
        Self {
            format: ACTIVATIONS_FORMAT.into(),
            version: ACTIVATIONS_VERSION,
            model_digest: model.digest(),
            shard: model.settings.shard.as_ref().map(|s| s.index),
            tensors,
            commitment: fr_to_hex(&commitment),
        }
    }

    pub fn write(&self, path: &Path) -> Result<(), ProveError> {
        let json = serde_json::to_string(self).map_err(|e| ProveError::Activations {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(zkinfer_ir::write_file(path, json.as_bytes())?)
    }

    pub fn read(path: &Path) -> Result<Self, ProveError> {
        let bytes = zkinfer_ir::read_file(path)?;
        Self::from_slice(&bytes, &path.display().to_string())
    }

    /// Parses an activations file; `path` names it in errors.
    pub fn from_slice(bytes: &[u8], path: &str) -> Result<Self, ProveError> {
        let bad = |reason: String| ProveError::Activations {
            path: path.into(),
            reason,
        };
        let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if v.get("format").and_then(|f| f.as_str()) != Some(ACTIVATIONS_FORMAT) {
            return Err(bad(format!("not a {ACTIVATIONS_FORMAT} file")));
        }
        let version = v.get("version").and_then(|f| f.as_u64()).unwrap_or(0);
        if version != u64::from(ACTIVATIONS_VERSION) {
            return Err(bad(format!(
                "format version {version} is not supported (this build reads {ACTIVATIONS_VERSION})"
            )));
        }
        serde_json::from_value(v).map_err(|e| bad(e.to_string()))
    }

    /// The tensors as inputs of `model`, checked against its inputs by count, name, shape and
    /// scale (`path` names the file in errors).
    pub fn inputs_for(
        &self,
        model: &CompiledModel,
        path: &str,
    ) -> Result<Vec<Tensor<i64>>, ProveError> {
        let bad = |reason: String| ProveError::Activations {
            path: path.into(),
            reason,
        };
        let want = model
            .settings
            .shard
            .as_ref()
            .and_then(|s| s.index.checked_sub(1));
        if let Some(want) = want.filter(|&w| self.shard != Some(w)) {
            return Err(bad(format!(
                "these activations come from shard {}, but this shard takes shard {want}'s: is \
                 this the output of the shard before it?",
                self.shard.map_or("none".into(), |i| i.to_string()),
            )));
        }
        let infos = &model.settings.inputs;
        if self.tensors.len() != infos.len() {
            return Err(bad(format!(
                "{} tensors, but the shard takes {} ({})",
                self.tensors.len(),
                infos.len(),
                infos
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        self.tensors
            .iter()
            .zip(infos)
            .map(|(t, info)| {
                if t.name != info.name || t.shape != info.shape || t.scale != info.scale {
                    return Err(bad(format!(
                        "tensor `{}` {:?} at scale 2^-{} where the shard takes `{}` {:?} at scale 2^-{}: \
                         is this the output of the shard before it?",
                        t.name, t.shape, t.scale, info.name, info.shape, info.scale
                    )));
                }
                Tensor::new(t.shape.clone(), t.values.clone()).map_err(|e| bad(e.to_string()))
            })
            .collect()
    }
}
