//! The key contract's program: the constraint expression and the SHPLONK scalars as
//! straight-line EVM code.

use halo2_axiom::halo2curves::bn256::Fr;
use halo2_axiom::halo2curves::ff::Field;
use halo2_axiom::halo2curves::group::prime::PrimeCurveAffine;

use super::{fr_word, Instruction, Key, Op};

impl Key {
    /// The constraint expression as EVM code: copy the calldata (the input slots) to memory,
    /// push the modulus, then per instruction `DUP1 (b) MLOAD [DUP2 SUB] (a) MLOAD op (dst)
    /// MSTORE` (a negation: `(a) MLOAD DUP2 SUB (dst) MSTORE`), and return the result slot.
    /// Values stay below 2^256 but may equal r (for 0) after a negation; every op reduces.
    pub fn program(&self) -> Vec<u8> {
        const MLOAD: u8 = 0x51;
        fn push(code: &mut Vec<u8>, slot: u16) {
            let addr = 32 * slot as u32;
            if addr <= 0xffff {
                code.push(0x61);
                code.extend((addr as u16).to_be_bytes());
            } else {
                code.push(0x62);
                code.extend(&addr.to_be_bytes()[1..]);
            }
        }
        // PUSH2 len POP (the program's length: where the data starts), CALLDATASIZE PUSH1 0
        // PUSH1 0 CALLDATACOPY, PUSH32 r.
        let mut c = vec![0x61, 0, 0, 0x50, 0x36, 0x60, 0x00, 0x60, 0x00, 0x37, 0x7f];
        let mut modulus = fr_word(&-Fr::ONE); // r - 1, which ends in 0x00
        modulus[31] += 1;
        c.extend(modulus);
        for i in self.instructions.iter().chain(&self.shplonk_instructions()) {
            if i.op == Op::Neg {
                // (a) MLOAD DUP2 SUB: r - a (r for 0: every later op reduces).
                push(&mut c, i.a);
                c.extend([MLOAD, 0x81, 0x03]);
                push(&mut c, i.dst);
                c.push(0x52); // MSTORE
                continue;
            }
            c.push(0x80); // DUP1: the modulus
            push(&mut c, i.b);
            c.push(MLOAD);
            if i.op == Op::Sub {
                c.extend([0x81, 0x03]); // DUP2 SUB: r - b
            }
            push(&mut c, i.a);
            c.push(MLOAD);
            c.push(match i.op {
                Op::Mul => 0x09,                     // MULMOD
                Op::Add | Op::Sub | Op::Neg => 0x08, // ADDMOD
            });
            push(&mut c, i.dst);
            c.push(0x52); // MSTORE
        }
        // PUSH2 (the scalars and g) (their slot) RETURN
        let out = 32 * (self.num_commitments() + 1) as u16;
        c.push(0x61);
        c.extend(out.to_be_bytes());
        push(&mut c, self.num_slots as u16);
        c.push(0xf3);
        let len = (c.len() as u16).to_be_bytes();
        c[1..3].copy_from_slice(&len);
        c
    }

    /// The SHPLONK part of the program, after the constraint expression: the quotient's
    /// evaluation (expression / (zⁿ - 1)), each commitment's scalar `Σ γ^S μ^p cc_S` and the
    /// generator's `g = Σ_S γ^S Σ_p μ^p r_p` (Horner in μ), with `r_p = Σ_j w_j·eval_j` from the
    /// weights the verifier scaled. Outputs: slots `num_slots ..`, the scalars then `g`;
    /// five registers after them.
    pub fn shplonk_instructions(&self) -> Vec<Instruction> {
        let out = self.num_slots;
        let nc = self.num_commitments();
        let slot = |i: usize| i as u16;
        let (g, mp, h, t, r, gp) = (
            out + nc,
            out + nc + 1,
            out + nc + 2,
            out + nc + 3,
            out + nc + 4,
            out + nc + 5,
        );
        let ch = self.challenge_base() + self.num_protocol_challenges;
        let (mu, gamma) = (slot(ch + 1), slot(ch + 2));
        let sh = self.shplonk_base();
        let mut code = Vec::new();
        let mut op = |op: Op, dst: usize, a: u16, b: u16| {
            code.push(Instruction {
                op,
                dst: slot(dst),
                a,
                b,
            })
        };
        op(Op::Mul, self.num_evals + 1, self.result, slot(sh));
        let mut seen = vec![false; nc];
        let mut gp_slot = slot(sh + 1); // cc_0 = 1: γ^0
        let mut weight = sh + 1 + self.sets.len();
        for (s, set) in self.sets.iter().enumerate() {
            let k = set.shifts.len();
            let cc = slot(sh + 1 + s);
            if s == 1 {
                gp_slot = gamma;
            } else if s > 1 {
                op(Op::Mul, gp, gp_slot, gamma);
                gp_slot = slot(gp);
            }
            // Scalars: γ^S·cc_S·μ^p, accumulated per commitment.
            let mut mp_slot = 0;
            let is_zero = |c: usize| {
                self.preprocessed
                    .get(c)
                    .is_some_and(|q| bool::from(q.is_identity()))
            };
            // Past the last commitment that is not the identity, μ^p is read by nobody.
            let live = set
                .polys
                .iter()
                .rposition(|(c, _)| !is_zero(*c as usize))
                .map_or(0, |p| p + 1);
            for (p, (c, _)) in set.polys.iter().enumerate().take(live) {
                let c = *c as usize;
                // The identity (a zero fixed column) needs no scalar: only μ^p goes on.
                let zero = is_zero(c);
                let dst = if seen[c] || zero { mp } else { out + c };
                match (p, s) {
                    (0, 0) => op(Op::Mul, dst, cc, cc),
                    (0, _) => op(Op::Mul, dst, gp_slot, cc),
                    _ => op(Op::Mul, dst, mp_slot, mu),
                }
                if seen[c] && !zero {
                    op(Op::Add, out + c, slot(out + c), slot(mp));
                }
                seen[c] = !zero;
                mp_slot = slot(dst);
            }
            // Horner in μ over the polynomials, last first.
            let r_of = |op: &mut dyn FnMut(Op, usize, u16, u16), evals: &[u16], dst: usize| {
                if k == 1 {
                    return evals[0];
                }
                op(Op::Mul, dst, slot(weight), evals[0]);
                for (j, &e) in evals.iter().enumerate().skip(1) {
                    op(Op::Mul, t, slot(weight + j), e);
                    op(Op::Add, dst, slot(dst), slot(t));
                }
                slot(dst)
            };
            let m = set.polys.len();
            let mut h_slot = r_of(&mut op, &set.polys[m - 1].1, h);
            for p in (0..m - 1).rev() {
                op(Op::Mul, h, h_slot, mu);
                let rp = r_of(&mut op, &set.polys[p].1, r);
                op(Op::Add, h, slot(h), rp);
                h_slot = slot(h);
            }
            // A single-point set's weight is `w·cc_S/Σ w = cc_S`: 1 for the first set, where
            // the product would only copy `h`.
            if k == 1 && s > 0 {
                op(Op::Mul, h, h_slot, slot(weight));
                h_slot = slot(h);
            }
            if s == 0 {
                op(Op::Mul, g, h_slot, cc);
            } else {
                op(Op::Mul, t, h_slot, gp_slot);
                op(Op::Add, g, slot(g), slot(t));
            }
            weight += k;
        }
        code
    }
}
