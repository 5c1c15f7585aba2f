//! An in-process EVM (revm, the mainnet rules of its latest hardfork, EIP-170 included) that
//! deploys contracts and calls them: from a default account, or from funded accounts with a
//! value attached, at a block timestamp the caller moves forward.

use revm::context::result::{ExecutionResult, Output};
use revm::context::TxEnv;
use revm::context_interface::ContextTr;
use revm::database::InMemoryDB;
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::{Address, TxKind, U256};
use revm::state::AccountInfo;
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};

use super::EvmError;

/// A chain that deploys and calls: from its default account ([`Chain::deploy`],
/// [`Chain::call`]) or from any account ([`Chain::call_from`]); gas is free (gas price 0), so
/// an account needs a balance only for the value it sends.
pub struct Chain {
    evm: MainnetEvm<MainnetContext<InMemoryDB>>,
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

/// The account [`Chain::deploy`] and [`Chain::call`] send from.
pub const DEFAULT_ACCOUNT: Address = Address::ZERO;

impl Chain {
    pub fn new() -> Self {
        Self {
            evm: Context::mainnet()
                .with_db(InMemoryDB::default())
                .build_mainnet(),
        }
    }

    /// The account's state in the chain's database (an empty one when it has none).
    fn account(&mut self, address: Address) -> AccountInfo {
        self.evm
            .ctx
            .db_mut()
            .load_account(address)
            .map(|a| a.info.clone())
            .unwrap_or_default()
    }

    fn transact(
        &mut self,
        from: Address,
        kind: TxKind,
        data: Vec<u8>,
        value: U256,
    ) -> Result<ExecutionResult, String> {
        let tx = TxEnv {
            caller: from,
            gas_limit: 30_000_000,
            kind,
            data: data.into(),
            value,
            nonce: self.account(from).nonce,
            ..Default::default()
        };
        self.evm.transact_commit(tx).map_err(|e| e.to_string())
    }

    /// Deploys `creation` code; the contract's address.
    pub fn deploy(&mut self, creation: Vec<u8>) -> Result<Address, EvmError> {
        match self.transact(DEFAULT_ACCOUNT, TxKind::Create, creation, U256::ZERO) {
            Ok(ExecutionResult::Success {
                output: Output::Create(_, Some(address)),
                ..
            }) => Ok(address),
            Ok(other) => Err(EvmError::Deploy(format!("{other:?}"))),
            Err(e) => Err(EvmError::Deploy(e)),
        }
    }

    /// Calls `to` with `data` from the default account; a revert or halt is a rejection.
    pub fn call(&mut self, to: Address, data: Vec<u8>) -> Result<Call, EvmError> {
        self.call_from(DEFAULT_ACCOUNT, to, data, U256::ZERO)
    }

    /// Calls `to` with `data` from `from`, sending `value` wei (which `from` must hold); a
    /// revert or halt is a rejection (its message carries the revert data as hex).
    pub fn call_from(
        &mut self,
        from: Address,
        to: Address,
        data: Vec<u8>,
        value: U256,
    ) -> Result<Call, EvmError> {
        match self.transact(from, TxKind::Call(to), data, value) {
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

    /// Gives `address` a balance of `wei` (a test faucet).
    pub fn fund(&mut self, address: Address, wei: U256) {
        let info = AccountInfo {
            balance: wei,
            ..self.account(address)
        };
        self.evm.ctx.db_mut().insert_account_info(address, info);
    }

    /// The balance of `address` in wei.
    pub fn balance(&mut self, address: Address) -> U256 {
        self.account(address).balance
    }

    /// The runtime code at `address` (empty for an account without code).
    pub fn code(&mut self, address: Address) -> Vec<u8> {
        let info = self.account(address);
        let code = info.code.or_else(|| {
            let db = self.evm.ctx.db_mut();
            db.cache.contracts.get(&info.code_hash).cloned()
        });
        code.map(|c| c.original_bytes().to_vec())
            .unwrap_or_default()
    }

    /// The timestamp of the block the next transaction runs in (seconds; 1 at genesis).
    pub fn timestamp(&self) -> u64 {
        self.evm.ctx.block.timestamp.saturating_to()
    }

    /// Moves the block timestamp `seconds` forward.
    pub fn advance_time(&mut self, seconds: u64) {
        let t = self.evm.ctx.block.timestamp;
        self.evm.ctx.block.timestamp = t.saturating_add(U256::from(seconds));
    }
}
