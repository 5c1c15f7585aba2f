//! The integrator flow for an MLP and a CNN from the corpus: compile for the EVM, export
//! zkinfer's verifier (its ABI and bytecode), the model's key contract and the verifying key,
//! encode calldata, and check proofs in an in-process EVM with the contracts compiled by solc
//! 0.8.19. The verifier accepts the valid proof, which `zkinfer verify` and snark-verifier's
//! contract accept too, and rejects a flipped proof byte, a changed instance and another
//! model's proof.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{compile_setup_prove, fails, ok, s};

/// compile --evm → setup → prove, into `dir`; returns (keys, proof).
fn prepare(dir: &Path, entry: &str) -> (PathBuf, PathBuf) {
    let text = compile_setup_prove(dir, entry, &["--evm"]);
    assert!(text.contains("instances for 74 values"), "{text}");
    (dir.join("keys"), dir.join("proof.json"))
}

/// A copy of the proof file at `from` with `edit` applied to its JSON.
fn edited(from: &Path, to: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(from).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(to, serde_json::to_vec(&v).unwrap()).unwrap();
    to.to_path_buf()
}

/// The number after `label` in `text`.
fn number_after(text: &str, label: &str) -> u64 {
    let rest = &text[text.find(label).unwrap() + label.len()..];
    rest.trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn verifier_contracts_accept_valid_proofs_and_reject_forgeries() {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("evm");
    let models = [
        ("mlp", "sklearn/mlp2_relu_digits_stdops"),
        ("cnn", "cnn/lenet_digits"),
    ];
    let prepared: Vec<(PathBuf, PathBuf, PathBuf)> = models
        .iter()
        .map(|(name, entry)| {
            let dir = tmp.join(name);
            let (keys, proof) = prepare(&dir, entry);
            (dir, keys, proof)
        })
        .collect();
    for (i, (dir, keys, proof)) in prepared.iter().enumerate() {
        let name = models[i].0;
        // Exports: Solidity, ABI, bytecode, the verifying key, calldata.
        let sol = dir.join("Verifier.sol");
        let text = ok(&[
            "export-verifier",
            "--keys",
            s(keys),
            "-o",
            s(&sol),
            "--abi",
            s(&dir.join("abi.json")),
            "--bytecode",
            s(&dir.join("bytecode.hex")),
            "--key-bytecode",
            s(&dir.join("key.hex")),
        ]);
        let size = number_after(&text, "(");
        assert!(size <= 24_576, "{name}: {text}");
        let key_size = number_after(&text, "verifying-key contract:");
        assert!(key_size <= 24_576, "{name}: {text}");
        assert!(std::fs::read_to_string(&sol)
            .unwrap()
            .contains("pragma solidity 0.8.19"));
        // The entry contract, beside the verifier, bound to the statement digest that
        // `inspect` and `verify` print.
        let entry = std::fs::read_to_string(dir.join("ZkinferEntry.sol")).unwrap();
        let digest = text
            .split("statement digest sha256:")
            .nth(1)
            .and_then(|t| t.get(..64))
            .unwrap_or_else(|| panic!("{name}: no statement digest in {text}"))
            .to_string();
        assert!(
            entry.contains(&format!("STATEMENT_DIGEST = 0x{digest};")),
            "{name}"
        );
        let inspected = ok(&["inspect", s(keys)]);
        assert!(
            inspected.contains(&format!("statement digest: sha256:{digest}")),
            "{inspected}"
        );
        let verified = ok(&[
            "verify",
            "--keys",
            s(keys),
            "--proof",
            s(proof),
            "--digest",
            &format!("sha256:{digest}"),
        ]);
        assert!(verified.contains("(pinned)"), "{verified}");
        let wrong = format!("sha256:{}", "0".repeat(64));
        fails(
            &[
                "verify",
                "--keys",
                s(keys),
                "--proof",
                s(proof),
                "--digest",
                &wrong,
            ],
            "statement digest",
        );
        let key_hex = std::fs::read_to_string(dir.join("key.hex")).unwrap();
        assert!(key_hex.starts_with("0x61") && key_hex.len() > 2 * key_size as usize);
        // snark-verifier's contract, the reference, still exports and accepts the proof.
        let text = ok(&[
            "export-verifier",
            "--keys",
            s(keys),
            "-o",
            s(&dir.join("SnarkVerifier.sol")),
            "--snark-verifier",
        ]);
        assert!(number_after(&text, "(") <= 24_576, "{name}: {text}");
        let abi: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("abi.json")).unwrap()).unwrap();
        assert!(abi.is_array(), "{abi}");
        for format in ["json", "bin"] {
            let out = dir.join(format!("vk.{format}"));
            ok(&[
                "export-vk",
                "--keys",
                s(keys),
                "--format",
                format,
                "-o",
                s(&out),
            ]);
            assert!(std::fs::metadata(&out).unwrap().len() > 0);
        }
        let calldata = dir.join("calldata.hex");
        let key_address = "0x00000000000000000000000000000000000000aa";
        ok(&[
            "encode-calldata",
            "--proof",
            s(proof),
            "-o",
            s(&calldata),
            "--key-address",
            key_address,
        ]);
        let hex = std::fs::read_to_string(&calldata).unwrap();
        assert!(hex[2..66].ends_with("aa"), "{}", &hex[..66]);
        // The key's address, the packed instances (a handful for the 74 public values) of 32
        // bytes, then the proof.
        let proof_json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(proof).unwrap()).unwrap();
        let proof_len = (proof_json["proof"].as_str().unwrap().len() - 2) / 2;
        let instances = proof_json["instances"][0].as_array().unwrap().len();
        assert!((2..=8).contains(&instances), "{instances} instances");
        assert_eq!((hex.len() - 2) / 2, 32 + instances * 32 + proof_len);
        // Without --key-address: the entry's verifyProof(uint256[], bytes).
        ok(&["encode-calldata", "--proof", s(proof), "-o", s(&calldata)]);
        let hex = std::fs::read_to_string(&calldata).unwrap();
        let selector = zkinfer_verifier::evm::entry::selector("verifyProof(uint256[],bytes)");
        assert_eq!(&hex[2..10], hex::encode(selector), "{name}");
        assert_eq!(
            (hex.len() - 2) / 2,
            4 + 3 * 32 + instances * 32 + 32 + proof_len.div_ceil(32) * 32
        );

        // One proof format: the Rust verifier and the contract both accept it.
        ok(&["verify", "--keys", s(keys), "--proof", s(proof)]);
        let text = ok(&["verify-evm", "--keys", s(keys), "--proof", s(proof)]);
        assert!(text.contains("ACCEPTED"), "{text}");
        let snark = ok(&[
            "verify-evm",
            "--keys",
            s(keys),
            "--proof",
            s(proof),
            "--snark-verifier",
        ]);
        assert!(
            snark.contains("ACCEPTED by snark-verifier's contract"),
            "{snark}"
        );
        println!(
            "{name}: {} gas, runtime code {} bytes",
            number_after(&text, "contract:"),
            number_after(&text, "runtime code")
        );

        // A flipped proof byte.
        let flipped = edited(proof, &dir.join("flipped.json"), |v| {
            let p = v["proof"].as_str().unwrap().to_string();
            let i = 2 + 2 * 100;
            let c = if &p[i..i + 1] == "0" { "1" } else { "0" };
            v["proof"] = format!("{}{c}{}", &p[..i], &p[i + 1..]).into();
        });
        fails(
            &["verify-evm", "--keys", s(keys), "--proof", s(&flipped)],
            "rejected the proof",
        );
        // A changed public instance (the first packed element: inputs).
        let changed = edited(proof, &dir.join("changed.json"), |v| {
            let x = v["instances"][0][0].as_str().unwrap().to_string();
            let last = if x.ends_with('0') { "1" } else { "0" };
            v["instances"][0][0] = format!("{}{last}", &x[..x.len() - 1]).into();
        });
        fails(
            &["verify-evm", "--keys", s(keys), "--proof", s(&changed)],
            "rejected the proof",
        );
        // Another model's proof.
        let other = &prepared[1 - i].2;
        fails(
            &["verify-evm", "--keys", s(keys), "--proof", s(other)],
            "rejected the proof",
        );
    }
}
