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

/// Reads and imports an ONNX file.
pub fn load_onnx(path: &Path) -> Result<FloatGraph, ImportError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ImportError::Io {
        path: name.clone(),
        source,
    })?;
    import_onnx(&bytes, &name)
}

/// Imports ONNX bytes; `path` names the model in errors (every error names it).
pub fn import_onnx(bytes: &[u8], path: &str) -> Result<FloatGraph, ImportError> {
    import_graph(bytes, path).map_err(|e| e.in_file(path))
}

fn import_graph(bytes: &[u8], path: &str) -> Result<FloatGraph, ImportError> {
    let malformed = |reason: String| ImportError::Malformed {
        path: path.into(),
        reason,
    };
    let model = ModelProto::decode(bytes).map_err(|e| malformed(e.to_string()))?;
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
    for vi in real_inputs {
        let (shape, dtype) = input_shape(vi)?;
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

fn input_shape(vi: &ValueInfoProto) -> Result<(Vec<usize>, ElemType), ImportError> {
    let bad = |reason: &str| ImportError::Input {
        name: vi.name.clone(),
        reason: reason.into(),
    };
    let tensor = vi
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .ok_or_else(|| bad("not a tensor input"))?;
    let dtype = ElemType::from_onnx(tensor.elem_type).ok_or_else(|| {
        bad(&format!(
            "element type {} is not supported (booleans, integers and floats are)",
            tensor.elem_type
        ))
    })?;
    let shape = tensor
        .shape
        .as_ref()
        .ok_or_else(|| bad("the input has no shape"))?;
    // Symbolic dimensions (`batch_size`, …) become 1.
    let dims = shape
        .dim
        .iter()
        .map(|d| d.dim_value.filter(|&v| v > 0).map_or(1, |v| v as usize))
        .collect::<Vec<usize>>();
    let elements = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if elements.is_none_or(|n| n > MAX_INPUT_ELEMENTS) {
        return Err(bad(&format!(
            "shape {dims:?} has more than {MAX_INPUT_ELEMENTS} elements, past what a circuit can hold"
        )));
    }
    Ok((dims, dtype))
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
