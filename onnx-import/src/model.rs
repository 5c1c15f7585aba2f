//! ONNX model → float graph: every unsupported operator is reported at once, with its node.

use std::collections::HashMap;
use std::path::Path;

use prost::Message;
use zkinfer_ir::ElemType;

use crate::error::{ImportError, Unsupported};
use crate::float::{FloatGraph, FloatNode, FloatOp};
use crate::ops::{builder, Ctx, Value};
use crate::proto::{ModelProto, NodeProto, ValueInfoProto};
use crate::tensor_proto::tensor_from_proto;

/// Reads and imports an ONNX file; symbolic input dimensions become 1.
pub fn load_onnx(path: &Path) -> Result<FloatGraph, ImportError> {
    load_onnx_with(path, &InputShapes::default())
}

/// Reads and imports an ONNX file, its symbolic input dimensions fixed as `shapes` says
/// (the graph's `fixed` lists what each became and why).
pub fn load_onnx_with(path: &Path, shapes: &InputShapes) -> Result<FloatGraph, ImportError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ImportError::Io {
        path: name.clone(),
        source,
    })?;
    let folder = path.parent().unwrap_or(Path::new("."));
    import_graph(&bytes, &name, shapes, Some(folder)).map_err(|e| e.in_file(&name))
}

/// Imports ONNX bytes; `path` names the model in errors (every error names it).
pub fn import_onnx(bytes: &[u8], path: &str) -> Result<FloatGraph, ImportError> {
    import_onnx_with(bytes, path, &InputShapes::default())
}

/// [`import_onnx`] with the symbolic input dimensions fixed as `shapes` says.
pub fn import_onnx_with(
    bytes: &[u8],
    path: &str,
    shapes: &InputShapes,
) -> Result<FloatGraph, ImportError> {
    import_graph(bytes, path, shapes, None).map_err(|e| e.in_file(path))
}

/// Imports a model; `folder` (the model file's) holds the files of external tensor data.
fn import_graph(
    bytes: &[u8],
    path: &str,
    fix: &InputShapes,
    folder: Option<&Path>,
) -> Result<FloatGraph, ImportError> {
    let malformed = |reason: String| ImportError::Malformed {
        path: path.into(),
        reason,
    };
    let mut model = ModelProto::decode(bytes).map_err(|e| malformed(e.to_string()))?;
    if let Some(g) = model.graph.as_mut() {
        for t in g.initializer.iter_mut().filter(|t| t.data_location == 1) {
            load_external(t, folder).map_err(malformed)?;
        }
    }
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| malformed("the model has no graph".into()))?;
    if graph.node.is_empty() && graph.output.is_empty() {
        return Err(malformed("the graph is empty".into()));
    }
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map_or(13, |o| o.version);

    let node_name = |n: &crate::proto::NodeProto| {
        if n.name.is_empty() {
            n.output.first().cloned().unwrap_or_default()
        } else {
            n.name.clone()
        }
    };
    let op_name = |n: &crate::proto::NodeProto| {
        if n.domain.is_empty() || n.domain == "ai.onnx" {
            n.op_type.clone()
        } else {
            format!("{}:{}", n.domain, n.op_type)
        }
    };
    let unknown: Vec<Unsupported> = graph
        .node
        .iter()
        .filter(|n| {
            !(n.domain.is_empty() || n.domain == "ai.onnx") || builder(&n.op_type).is_none()
        })
        .map(|n| Unsupported {
            node: node_name(n),
            op: op_name(n),
            reason: "operator not supported".into(),
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ImportError::Unsupported {
            path: path.into(),
            items: unknown,
        });
    }

    let mut uses: HashMap<String, usize> = HashMap::new();
    for n in &graph.node {
        for i in n.input.iter().filter(|i| !i.is_empty()) {
            *uses.entry(i.clone()).or_default() += 1;
        }
    }
    for o in &graph.output {
        *uses.entry(o.name.clone()).or_default() += 1;
    }

    let mut values: HashMap<String, Value> = HashMap::new();
    // The element type of every ONNX value, from initializers, inputs and each node's rule.
    let mut types: HashMap<String, ElemType> = HashMap::new();
    for init in &graph.initializer {
        let t = tensor_from_proto(init).map_err(malformed)?;
        values.insert(init.name.clone(), Value::Const(t));
        types.insert(
            init.name.clone(),
            ElemType::from_onnx(init.data_type).unwrap_or_default(),
        );
    }
    let mut fg = FloatGraph::default();
    let real_inputs: Vec<&ValueInfoProto> = graph
        .input
        .iter()
        .filter(|vi| !values.contains_key(&vi.name))
        .collect();
    let (shapes, fixed) = fix_dims(&real_inputs, fix)?;
    fg.fixed = fixed;
    for (vi, shape) in real_inputs.into_iter().zip(shapes) {
        let dtype = input_type(vi)?;
        let index = fg.inputs.len();
        types.insert(vi.name.clone(), dtype);
        let id = fg.push(FloatNode {
            name: vi.name.clone(),
            op: FloatOp::Input(index),
            inputs: vec![],
            shape,
            dtype,
        });
        fg.inputs.push(id);
        fg.input_names.push(vi.name.clone());
        values.insert(vi.name.clone(), Value::Node(id));
    }

    let mut failed: Vec<Unsupported> = Vec::new();
    let mut poisoned: std::collections::HashSet<String> = Default::default();
    for n in &graph.node {
        if n.input.iter().any(|i| poisoned.contains(i)) {
            poisoned.extend(n.output.iter().cloned());
            continue;
        }
        let mut inputs = Vec::with_capacity(n.input.len());
        for name in &n.input {
            if name.is_empty() {
                inputs.push(None);
                continue;
            }
            let v = values.get(name).cloned().ok_or_else(|| ImportError::Node {
                node: node_name(n),
                op: n.op_type.clone(),
                reason: format!("reads `{name}`, which no earlier node or initializer defines"),
            })?;
            inputs.push(Some(v));
        }
        let build =
            builder(&n.op_type).ok_or_else(|| malformed("internal: builder vanished".into()))?;
        let in_types: Vec<ElemType> = n
            .input
            .iter()
            .map(|i| types.get(i).copied().unwrap_or_default())
            .collect();
        let declared = declared_types(n, &in_types);
        let before = fg.nodes.len();
        let mut ctx = Ctx {
            node: n,
            graph: &mut fg,
            inputs,
            uses: &uses,
            opset,
            types: in_types,
        };
        match build(&mut ctx) {
            Ok(outs) => {
                for (k, (name, v)) in n.output.iter().zip(outs).enumerate() {
                    let dtype = declared.get(k).copied().unwrap_or_default();
                    types.insert(name.clone(), dtype);
                    let v = match v {
                        Value::Node(id) => Value::Node(give_type(&mut fg, id, before, dtype)),
                        c => c,
                    };
                    values.insert(name.clone(), v);
                }
            }
            Err(reason) => {
                failed.push(Unsupported {
                    node: node_name(n),
                    op: op_name(n),
                    reason,
                });
                poisoned.extend(n.output.iter().cloned());
            }
        }
    }
    if !failed.is_empty() {
        return Err(ImportError::Unsupported {
            path: path.into(),
            items: failed,
        });
    }
    for o in &graph.output {
        match values.get(&o.name) {
            Some(Value::Node(id)) => {
                fg.outputs.push(*id);
                fg.output_names.push(o.name.clone());
            }
            Some(Value::Const(t)) => {
                // A constant output is part of the model: the circuit fixes its cells to the
                // constant, and the proof states it like any other output.
                let dtype = types.get(&o.name).copied().unwrap_or_default();
                let id = fg.push(FloatNode {
                    name: o.name.clone(),
                    op: FloatOp::Linear {
                        terms: vec![Vec::new(); t.len()],
                        bias: t.data().to_vec(),
                    },
                    inputs: vec![],
                    shape: t.shape().to_vec(),
                    dtype,
                });
                fg.outputs.push(id);
                fg.output_names.push(o.name.clone());
            }
            None => {
                return Err(malformed(format!(
                    "graph output `{}` is never computed",
                    o.name
                )))
            }
        }
    }
    crate::fuse::fuse_activations(&mut fg);
    fg.prune();
    Ok(fg)
}

/// The element types ONNX declares for a node's outputs, from its operator and input types.
fn declared_types(n: &NodeProto, inputs: &[ElemType]) -> Vec<ElemType> {
    let first = inputs.first().copied().unwrap_or_default();
    let attr_int = |name: &str| n.attribute.iter().find(|a| a.name == name).map(|a| a.i);
    let one = match n.op_type.as_str() {
        "Cast" => attr_int("to")
            .and_then(|t| ElemType::from_onnx(t as i32))
            .unwrap_or_default(),
        "CastLike" => inputs.get(1).copied().unwrap_or_default(),
        "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual" | "Not" | "And" | "Or"
        | "Xor" | "IsNaN" | "IsInf" => ElemType::Bool,
        "ArgMax" | "ArgMin" | "Shape" | "Size" | "NonZero" => ElemType::Int64,
        "Where" => inputs.get(1).copied().unwrap_or_default(),
        "Constant" | "ConstantOfShape" => n
            .attribute
            .iter()
            .find_map(|a| a.t.as_ref())
            .and_then(|t| ElemType::from_onnx(t.data_type))
            .unwrap_or(
                if n.op_type == "Constant" && attr_int("value_int").is_some() {
                    ElemType::Int64
                } else {
                    ElemType::Float32
                },
            ),
        _ => first,
    };
    match n.op_type.as_str() {
        "TopK" => vec![first, ElemType::Int64],
        _ => vec![one; n.output.len().max(1)],
    }
}

/// Gives the node holding an ONNX value its declared type. A node the builder made (from
/// `before` on) takes it; an earlier node of another type (a `Cast` that changes nothing in
/// the circuit) is viewed through a free reshape of the new type.
fn give_type(fg: &mut FloatGraph, id: usize, before: usize, dtype: ElemType) -> usize {
    if id >= before {
        fg.nodes[id].dtype = dtype;
        return id;
    }
    if fg.nodes[id].dtype == dtype {
        return id;
    }
    let node = &fg.nodes[id];
    let view = FloatNode {
        name: node.name.clone(),
        op: FloatOp::IndexMap(zkinfer_ir::Op::Reshape),
        inputs: vec![id],
        shape: node.shape.clone(),
        dtype,
    };
    fg.push(view)
}

/// Reads a tensor's external data (the dynamo exporter writes weights to `model.onnx.data`)
/// into its `raw_data`: from a file beside the model, named by a relative path that stays in
/// the model's folder, at the given offset and length.
fn load_external(t: &mut crate::proto::TensorProto, folder: Option<&Path>) -> Result<(), String> {
    let entry = |key: &str| {
        t.external_data
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.clone())
    };
    let number = |key: &str| -> Result<Option<u64>, String> {
        entry(key)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    format!("tensor `{}`: external {key} `{v}` is not a number", t.name)
                })
            })
            .transpose()
    };
    let location = entry("location").ok_or_else(|| {
        format!(
            "tensor `{}` stores its data externally but names no file",
            t.name
        )
    })?;
    let Some(folder) = folder else {
        return Err(format!(
            "tensor `{}` stores its data in `{location}`: import the model from its file",
            t.name
        ));
    };
    let relative = Path::new(&location);
    let inside = relative
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !inside {
        return Err(format!(
            "tensor `{}`: external data file `{location}` is not inside the model's folder",
            t.name
        ));
    }
    let file = folder.join(relative);
    let bytes = std::fs::read(&file)
        .map_err(|e| format!("tensor `{}`: reading {}: {e}", t.name, file.display()))?;
    let offset = number("offset")?.unwrap_or(0) as usize;
    let length = match number("length")? {
        Some(n) => n as usize,
        None => bytes.len().saturating_sub(offset),
    };
    let end = offset
        .checked_add(length)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| {
            format!(
                "tensor `{}`: bytes {offset}..{offset}+{length} are past the end of {} ({} bytes)",
                t.name,
                file.display(),
                bytes.len()
            )
        })?;
    t.raw_data = bytes[offset..end].to_vec();
    t.data_location = 0;
    t.external_data.clear();
    Ok(())
}

fn tensor_type(vi: &ValueInfoProto) -> Result<&crate::proto::TypeProtoTensor, ImportError> {
    vi.r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .ok_or_else(|| ImportError::Input {
            name: vi.name.clone(),
            reason: "not a tensor input".into(),
        })
}

fn input_type(vi: &ValueInfoProto) -> Result<ElemType, ImportError> {
    let elem = tensor_type(vi)?.elem_type;
    ElemType::from_onnx(elem).ok_or_else(|| ImportError::Input {
        name: vi.name.clone(),
        reason: format!("element type {elem} is not supported (booleans, integers and floats are)"),
    })
}

/// How a model's symbolic input dimensions (`dynamic_axes`: `batch`, `sequence`, …) are fixed
/// at import. A circuit has one shape; whatever is not fixed here becomes 1.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InputShapes {
    /// Whole shapes by input name (`--shape input_ids=1x16`).
    pub named: Vec<(String, Vec<usize>)>,
    /// Each graph input's element count in a sample (`--input`), in graph order: an input's
    /// last unfixed dimension takes what its count leaves, the ones before it 1.
    pub lengths: Option<Vec<usize>>,
}

/// A symbolic input dimension and the value import gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedDim {
    /// The dimension's name in the model (`sequence`), or `input[axis]` when it has none.
    pub symbol: String,
    pub value: usize,
    /// What fixed it: `--shape input_ids`, `the sample's input_ids`, or nothing (1).
    pub by: String,
}

impl std::fmt::Display for FixedDim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {} ({})", self.symbol, self.value, self.by)
    }
}

/// One declared dimension of an input.
enum Dim {
    Known(usize),
    Symbol(String),
}

/// Every input's shape, its symbolic dimensions fixed by name, then by the sample's element
/// counts, then to 1; and what fixed each symbol.
fn fix_dims(
    inputs: &[&ValueInfoProto],
    how: &InputShapes,
) -> Result<(Vec<Vec<usize>>, Vec<FixedDim>), ImportError> {
    let bad = |name: &str, reason: String| ImportError::Input {
        name: name.into(),
        reason,
    };
    for (name, _) in &how.named {
        if !inputs.iter().any(|vi| &vi.name == name) {
            let names: Vec<&str> = inputs.iter().map(|vi| vi.name.as_str()).collect();
            return Err(bad(
                name,
                format!("--shape names no graph input (the inputs are {names:?})"),
            ));
        }
    }
    let mut declared = Vec::with_capacity(inputs.len());
    for vi in inputs {
        let shape = tensor_type(vi)?
            .shape
            .as_ref()
            .ok_or_else(|| bad(&vi.name, "the input has no shape".into()))?;
        let dims: Vec<Dim> = shape
            .dim
            .iter()
            .enumerate()
            .map(|(axis, d)| match (d.dim_value, d.dim_param.as_deref()) {
                (Some(v), _) if v > 0 => Dim::Known(v as usize),
                (_, Some(p)) if !p.is_empty() => Dim::Symbol(p.to_string()),
                _ => Dim::Symbol(format!("{}[{axis}]", vi.name)),
            })
            .collect();
        declared.push(dims);
    }
    let mut fixed: Vec<FixedDim> = Vec::new();
    let bind = |fixed: &mut Vec<FixedDim>, input: &str, symbol: &str, value: usize, by: String| {
        match fixed.iter().find(|f| f.symbol == symbol) {
            Some(f) if f.value != value => Err(bad(
                input,
                format!(
                    "dimension `{symbol}` would be {value} here but is {} ({})",
                    f.value, f.by
                ),
            )),
            Some(_) => Ok(()),
            None => {
                fixed.push(FixedDim {
                    symbol: symbol.into(),
                    value,
                    by,
                });
                Ok(())
            }
        }
    };
    for (vi, dims) in inputs.iter().zip(&declared) {
        let Some((_, shape)) = how.named.iter().find(|(n, _)| *n == vi.name) else {
            continue;
        };
        if shape.len() != dims.len() {
            return Err(bad(
                &vi.name,
                format!(
                    "--shape gives {} dimensions; the input has {}",
                    shape.len(),
                    dims.len()
                ),
            ));
        }
        for (axis, (d, &v)) in dims.iter().zip(shape).enumerate() {
            match d {
                Dim::Known(k) if *k != v => {
                    return Err(bad(
                        &vi.name,
                        format!("--shape sets axis {axis} to {v}; the model fixes it at {k}"),
                    ))
                }
                Dim::Known(_) => {}
                Dim::Symbol(s) => bind(&mut fixed, &vi.name, s, v, format!("--shape {}", vi.name))?,
            }
        }
    }
    if let Some(lengths) = &how.lengths {
        for ((vi, dims), &len) in inputs.iter().zip(&declared).zip(lengths) {
            let value_of = |d: &Dim, fixed: &[FixedDim]| match d {
                Dim::Known(k) => Some(*k),
                Dim::Symbol(s) => fixed.iter().find(|f| &f.symbol == s).map(|f| f.value),
            };
            let open: Vec<&str> = dims
                .iter()
                .filter_map(|d| match d {
                    Dim::Symbol(s) if value_of(d, &fixed).is_none() => Some(s.as_str()),
                    _ => None,
                })
                .collect();
            let known: usize = dims.iter().filter_map(|d| value_of(d, &fixed)).product();
            let Some((&last, before)) = open.split_last() else {
                if known != len {
                    let shape: Vec<usize> =
                        dims.iter().filter_map(|d| value_of(d, &fixed)).collect();
                    return Err(bad(
                        &vi.name,
                        format!("the sample has {len} values; its shape {shape:?} holds {known}"),
                    ));
                }
                continue;
            };
            if known == 0 || len % known != 0 || len == 0 {
                return Err(bad(
                    &vi.name,
                    format!("the sample's {len} values do not fill its fixed dimensions (product {known})"),
                ));
            }
            let by = format!("the sample's {}", vi.name);
            for s in before {
                bind(&mut fixed, &vi.name, s, 1, format!("{by}, leading"))?;
            }
            bind(&mut fixed, &vi.name, last, len / known, by)?;
        }
    }
    let mut shapes = Vec::with_capacity(inputs.len());
    for (vi, dims) in inputs.iter().zip(&declared) {
        let mut shape = Vec::with_capacity(dims.len());
        for d in dims {
            shape.push(match d {
                Dim::Known(k) => *k,
                Dim::Symbol(s) => match fixed.iter().find(|f| &f.symbol == s) {
                    Some(f) => f.value,
                    None => {
                        bind(&mut fixed, &vi.name, s, 1, "nothing fixed it".into())?;
                        1
                    }
                },
            });
        }
        let elements = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if elements.is_none_or(|n| n > MAX_INPUT_ELEMENTS) {
            return Err(bad(
                &vi.name,
                format!(
                    "shape {shape:?} has more than {MAX_INPUT_ELEMENTS} elements, past what a circuit can hold"
                ),
            ));
        }
        shapes.push(shape);
    }
    Ok((shapes, fixed))
}

/// The most elements a graph input may have (2^26; a circuit of 2^26 rows is already past
/// every prover's memory): a larger declared shape is refused before anything is allocated.
pub const MAX_INPUT_ELEMENTS: usize = 1 << 26;

#[cfg(test)]
#[path = "tests/import.rs"]
mod tests;

#[cfg(test)]
#[path = "tests/lowering.rs"]
mod lowering_tests;

#[cfg(test)]
#[path = "tests/real_exports.rs"]
mod real_export_tests;
