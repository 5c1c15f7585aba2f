//! An in-process EVM (revm, the mainnet rules of its latest hardfork, EIP-170 included) that
//! deploys contracts and calls them.

use revm::context::result::{ExecutionResult, Output};
use revm::context::TxEnv;
use revm::database::InMemoryDB;
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::{Address, TxKind};
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};

use super::EvmError;

/// A chain of one account that deploys and calls.
pub struct Chain {
    evm: MainnetEvm<MainnetContext<InMemoryDB>>,
    nonce: u64,
}

/// What a successful call returned.
#[derive(Clone, Debug)]
pub struct Call {
    /// Gas of the whole transaction (21,000 intrinsic and the calldata included).
    pub gas: u64,
    pub output: Vec<u8>,
}

impl Default for Chain {
    fn default() -> Self {
        Self::new()
    }
}

impl Chain {
    pub fn new() -> Self {
        Self {
            evm: Context::mainnet()
                .with_db(InMemoryDB::default())
                .build_mainnet(),
            nonce: 0,
        }
    }

    fn transact(&mut self, kind: TxKind, data: Vec<u8>) -> Result<ExecutionResult, String> {
        let tx = TxEnv {
            gas_limit: 30_000_000,
            kind,
            data: data.into(),
            nonce: self.nonce,
            ..Default::default()
        };
        let result = self.evm.transact_commit(tx).map_err(|e| e.to_string())?;
        self.nonce += 1;
        Ok(result)
    }

    /// Deploys `creation` code; the contract's address.
    pub fn deploy(&mut self, creation: Vec<u8>) -> Result<Address, EvmError> {
        match self.transact(TxKind::Create, creation) {
            Ok(ExecutionResult::Success {
                output: Output::Create(_, Some(address)),
                ..
            }) => Ok(address),
            Ok(other) => Err(EvmError::Deploy(format!("{other:?}"))),
            Err(e) => Err(EvmError::Deploy(e)),
        }
    }

    /// Calls `to` with `data`; a revert or halt is a rejection.
    pub fn call(&mut self, to: Address, data: Vec<u8>) -> Result<Call, EvmError> {
        match self.transact(TxKind::Call(to), data) {
            Ok(ExecutionResult::Success {
                gas_used, output, ..
            }) => Ok(Call {
                gas: gas_used,
                output: output.into_data().to_vec(),
            }),
            Ok(ExecutionResult::Revert { gas_used, output }) => Err(EvmError::Rejected(format!(
                "the call reverted after {gas_used} gas with 0x{}",
                hex::encode(&output)
            ))),
            Ok(ExecutionResult::Halt { reason, gas_used }) => Err(EvmError::Rejected(format!(
                "the call halted ({reason:?}) after {gas_used} gas"
            ))),
            Err(e) => Err(EvmError::Rejected(e)),
        }
    }
}
