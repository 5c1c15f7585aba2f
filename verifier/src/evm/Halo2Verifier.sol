// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.19;

/// zkinfer's verifier of halo2 proofs (KZG on BN254, SHPLONK multi-opening, Keccak-256
/// transcript). One contract serves every model: the model's verifying key is a separate
/// contract, read with EXTCODECOPY and called for the model's scalar arithmetic (its program),
/// whose layout `verifier/src/evm/key/mod.rs` documents. This contract runs the transcript, the
/// Lagrange and SHPLONK inversions, the multi-scalar multiplication and the pairing.
///
/// Calldata: the key contract's address (one 32-byte word), the public instances (32
/// big-endian bytes each, below the scalar field's modulus), then the proof bytes. The call
/// returns the word 1 when the proof is valid and reverts otherwise.
contract Halo2Verifier {
    fallback() external {
        assembly {
            // Memory: 0x000-0x1ff precompile scratch; 0x200-0x3ff named words; the key's data
            // from 0x400; then the slot table, the transcript buffer and scratch arrays.
            // Named words: 0x200/0x220 MSM accumulator, 0x240 slot table, 0x260 transcript
            // buffer, 0x280 scratch, 0x2a0 z^n, 0x2c0 1/(z^n - 1), 0x2e0 proof offset,
            // 0x300 commitment scalars, 0x320 the key's data offset.

            function fr() -> r {
                r := 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001
            }
            function fail() {
                revert(0, 0)
            }
            // Header word i of the key.
            function h(i) -> v {
                v := mload(add(0x400, shl(5, i)))
            }
            // Address of a key table at byte offset `off`.
            function at(off) -> p {
                p := add(0x400, off)
            }
            function slot(i) -> p {
                p := add(mload(0x240), shl(5, i))
            }
            function u16at(p) -> v {
                v := shr(240, mload(p))
            }
            function word(p, i) -> v {
                v := mload(add(p, shl(5, i)))
            }
            function neg(x) -> y {
                y := mod(sub(fr(), x), fr())
            }

            function invert(x) -> r {
                mstore(0x00, 0x20)
                mstore(0x20, 0x20)
                mstore(0x40, 0x20)
                mstore(0x60, x)
                mstore(0x80, sub(fr(), 2))
                mstore(0xa0, fr())
                if iszero(staticcall(gas(), 0x05, 0x00, 0xc0, 0x00, 0x20)) { fail() }
                r := mload(0x00)
            }
            // Inverts the n words at p in place (Montgomery's trick); tmp holds n words.
            function batch_invert(p, n, tmp) {
                let acc := 1
                for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                    mstore(add(tmp, shl(5, i)), acc)
                    acc := mulmod(acc, word(p, i), fr())
                }
                if iszero(acc) { fail() }
                let inv := invert(acc)
                for { let i := n } gt(i, 0) {} {
                    i := sub(i, 1)
                    let pi := add(p, shl(5, i))
                    let v := mload(pi)
                    mstore(pi, mulmod(inv, word(tmp, i), fr()))
                    inv := mulmod(inv, v, fr())
                }
            }
            // accumulator += s·(x, y)
            function msm_add(x, y, s) {
                mstore(0x00, x)
                mstore(0x20, y)
                mstore(0x40, s)
                if iszero(staticcall(gas(), 0x07, 0x00, 0x60, 0x40, 0x40)) { fail() }
                mstore(0x00, mload(0x200))
                mstore(0x20, mload(0x220))
                if iszero(staticcall(gas(), 0x06, 0x00, 0x80, 0x200, 0x40)) { fail() }
            }
            // Calldata offset of the proof's i-th point (witnesses, then quotient chunks).
            function proof_point(i) -> p {
                p := add(mload(0x2e0), shl(6, i))
            }
            // Calldata offset of the two opening points W, W'.
            function opening_points() -> p {
                p := add(proof_point(add(h(9), h(8))), shl(5, h(7)))
            }

            // The slot table's regions follow one another (key/mod.rs, `Key::*_base`).
            function slots_ok() -> ok {
                ok := eq(h(30), add(h(7), 2))
                ok := and(ok, eq(h(21), add(add(h(30), h(10)), 4)))
                ok := and(ok, eq(h(24), add(h(21), h(19))))
                ok := and(ok, eq(h(29), add(add(h(18), h(16)), h(22))))
            }
            function tables_ok() -> ok {
                // The tables follow one another, each as long as its count says: segments,
                // preprocessed points, SRS points, constants, Lagrange points, rotations, then
                // the query sets up to the end (checked as they are read).
                ok := eq(h(12), 0x400)
                ok := and(ok, eq(h(14), add(h(12), mul(h(11), 6))))
                ok := and(ok, eq(h(15), add(h(14), shl(6, h(13)))))
                ok := and(ok, eq(h(17), add(h(15), 0x140)))
                ok := and(ok, eq(h(20), add(h(17), shl(5, h(16)))))
                ok := and(ok, eq(h(26), add(h(20), shl(1, h(19)))))
                ok := and(ok, eq(h(28), add(h(26), shl(1, h(25)))))
            }

            // The key: copy its data, check its version, its layout and the calldata's size.
            function load_key() {
                let key := calldataload(0)
                if shr(160, key) { fail() }
                let size := extcodesize(key)
                // The program starts with `PUSH2 len POP`: the data follows it; its header
                // lands at 0x400.
                extcodecopy(key, 0x00, 0, 4)
                let head := shr(224, mload(0x00))
                if iszero(eq(and(head, 0xff0000ff), 0x61000050)) { fail() }
                let start := and(shr(8, head), 0xffff)
                mstore(0x320, start)
                if lt(size, add(start, 0x400)) { fail() }
                extcodecopy(key, 0x400, start, 0x400)
                // "zkinfer-vk-v1", left-aligned.
                if iszero(eq(h(0), 0x7a6b696e6665722d766b2d763100000000000000000000000000000000000000)) {
                    fail()
                }
                if iszero(eq(start, h(23))) { fail() }
                if iszero(eq(size, add(start, h(31)))) { fail() }
                extcodecopy(key, 0x800, add(start, 0x400), sub(h(31), 0x400))
                if iszero(eq(calldatasize(), h(2))) { fail() }
                if iszero(slots_ok()) { fail() }
                if iszero(tables_ok()) { fail() }
                let v := add(0x400, and(add(h(31), 31), not(31)))
                mstore(0x240, v)
                // The slot table holds the inputs of the key's program (temporaries live there).
                let tb := add(v, shl(5, add(h(18), h(16))))
                mstore(0x260, tb)
                // Scratch after the transcript: the commitments' scalars and the generator's (the
                // key's program returns them), then the rest.
                let sc := add(tb, add(calldatasize(), 0x40))
                mstore(0x300, sc)
                mstore(0x280, add(sc, shl(5, add(add(h(13), h(9)), 2))))
                mstore(0x2e0, add(0x20, shl(5, h(1))))
                extcodecopy(key, slot(h(18)), add(start, h(17)), shl(5, h(16)))
            }

            // Fiat–Shamir: absorb the instances and each segment of the proof, squeeze the
            // challenges into their slots.
            function transcript() {
                let tb := mload(0x260)
                mstore(tb, h(6))
                let n := h(1)
                for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                    let x := calldataload(add(0x20, shl(5, i)))
                    if iszero(lt(x, fr())) { fail() }
                    mstore(add(tb, add(0x20, shl(5, i))), x)
                }
                let len := add(0x20, shl(5, n))
                let cd := mload(0x2e0)
                let ch := slot(h(30))
                let seg := at(h(12))
                let points := 0
                let scalars := 0
                for { let s := 0 } lt(s, h(11)) { s := add(s, 1) } {
                    let w := mload(add(seg, mul(s, 6)))
                    points := add(points, shr(240, w))
                    scalars := add(scalars, and(shr(224, w), 0xffff))
                    let bytes := add(shl(6, shr(240, w)), shl(5, and(shr(224, w), 0xffff)))
                    calldatacopy(add(tb, len), cd, bytes)
                    len := add(len, bytes)
                    cd := add(cd, bytes)
                    for { let j := and(shr(208, w), 0xffff) } j { j := sub(j, 1) } {
                        if eq(len, 0x20) {
                            mstore8(add(tb, 0x20), 1)
                            len := 0x21
                        }
                        let hash := keccak256(tb, len)
                        mstore(tb, hash)
                        len := 0x20
                        mstore(ch, mod(hash, fr()))
                        ch := add(ch, 0x20)
                    }
                }
                // The segments cover the proof exactly: witnesses and quotient chunks, the
                // evaluations, W and W'; and they squeezed every challenge.
                if iszero(eq(cd, calldatasize())) { fail() }
                if iszero(eq(points, add(add(h(9), h(8)), 2))) { fail() }
                if iszero(eq(scalars, h(7))) { fail() }
                if iszero(eq(ch, slot(h(21)))) { fail() }
            }

            // Every evaluation canonical, into slots 0..E.
            function read_proof() {
                // The points are checked where they are used: every one of them goes through
                // the ecMul/ecAdd precompiles (`add_point`), which refuse a point off the curve
                // or with a coordinate not below the field's modulus.
                let v := mload(0x240)
                let n := shl(5, h(7))
                calldatacopy(v, proof_point(add(h(9), h(8))), n)
                let r := fr()
                let ok := 1
                for { let p := v } lt(p, add(v, n)) { p := add(p, 0x20) } {
                    ok := and(ok, lt(mload(p), r))
                }
                if iszero(ok) { fail() }
            }

            // z^n, 1/(z^n - 1), the Lagrange polynomials used and the instance polynomial,
            // all at z: L_i(z) = (z^n - 1)/n · ω^i/(z - ω^i), one batch inversion.
            function common_denominators(d) -> count {
                let z := mload(slot(add(h(30), h(10))))
                let zn := z
                for { let i := h(3) } i { i := sub(i, 1) } { zn := mulmod(zn, zn, fr()) }
                mstore(0x2a0, zn)
                let n := h(1)
                let nl := h(19)
                let omega := h(4)
                let w := 1
                for { let j := 0 } lt(j, n) { j := add(j, 1) } {
                    mstore(add(d, shl(5, j)), addmod(z, sub(fr(), w), fr()))
                    w := mulmod(w, omega, fr())
                }
                let lag := at(h(20))
                for { let l := 0 } lt(l, nl) { l := add(l, 1) } {
                    let wl := mload(slot(u16at(add(lag, shl(1, l)))))
                    mstore(add(d, shl(5, add(n, l))), addmod(z, sub(fr(), wl), fr()))
                }
                count := add(add(n, nl), 1)
                mstore(add(d, shl(5, sub(count, 1))), addmod(zn, sub(fr(), 1), fr()))
            }

            // After the inversion of the `common_denominators` at d: the instance polynomial and
            // the Lagrange polynomials at z, and 1/(z^n - 1).
            function common_polys(d) {
                let zn := mload(0x2a0)
                let n := h(1)
                let nl := h(19)
                let omega := h(4)
                let c := mulmod(addmod(zn, sub(fr(), 1), fr()), h(5), fr())
                let acc := 0
                let w := 1
                for { let j := 0 } lt(j, n) { j := add(j, 1) } {
                    let t := mulmod(calldataload(add(0x20, shl(5, j))), w, fr())
                    acc := addmod(acc, mulmod(t, word(d, j), fr()), fr())
                    w := mulmod(w, omega, fr())
                }
                mstore(slot(h(7)), mulmod(acc, c, fr()))
                let base := h(21)
                let lag := at(h(20))
                for { let l := 0 } lt(l, nl) { l := add(l, 1) } {
                    let wl := mload(slot(u16at(add(lag, shl(1, l)))))
                    mstore(slot(add(base, l)), mulmod(mulmod(c, wl, fr()), word(d, add(n, l)), fr()))
                }
                mstore(0x2c0, word(d, add(n, nl)))
            }

            // The key contract's program: on the slots before the constants (copied in) and the
            // constants, the constraint expression, the quotient's evaluation and the SHPLONK
            // scalars: each commitment's, then the generator's, into the scalars' array.
            function run_program() {
                let inputs := shl(5, add(h(18), h(16)))
                let n := add(add(h(13), h(9)), 2)
                if iszero(staticcall(gas(), calldataload(0), mload(0x240), inputs, mload(0x300), shl(5, n))) {
                    fail()
                }
                if iszero(eq(returndatasize(), shl(5, n))) { fail() }
            }

            // A query set at p: k shifts, m polynomials, the shifts' rotation indices and their
            // ell slots (the polynomials are in the key's program).
            function set_k(p) -> k {
                k := u16at(p)
            }
            function set_ell(p) -> e {
                e := add(add(p, 4), shl(1, set_k(p)))
            }
            function set_next(p) -> q {
                q := add(add(p, 4), shl(2, set_k(p)))
            }
            function challenge(i) -> c {
                c := mload(slot(add(add(h(30), h(10)), i)))
            }

            // One set's barycentric denominators into out; returns z_S.
            function set_denominators(p, zpm, out, z) -> prod {
                let k := set_k(p)
                let zk1 := 1
                for { let j := 1 } lt(j, k) { j := add(j, 1) } { zk1 := mulmod(zk1, z, fr()) }
                prod := 1
                let ell := set_ell(p)
                for { let j := 0 } lt(j, k) { j := add(j, 1) } {
                    let f := word(zpm, u16at(add(add(p, 4), shl(1, j))))
                    prod := mulmod(prod, f, fr())
                    let e := mload(slot(u16at(add(ell, shl(1, j)))))
                    mstore(add(out, shl(5, j)), mulmod(mulmod(e, zk1, fr()), f, fr()))
                }
            }

            // SHPLONK, pass 1: z' - z·ω^r per rotation; per set, z_S = Π (z' - z·ω^r) and the
            // barycentric denominators ell_j·z^{k-1}·(z' - z·ω^{r_j}); inverted at once with
            // the common polynomials' denominators, which are then evaluated.
            // Scratch: zpm[rotations] | zs[sets] | cc[sets] | sumw[sets] | z_S (S > 0), the
            // weights' denominators, the common denominators (inverted in place) | tmp.
            function shplonk_weights() -> weights {
                let z := challenge(0)
                let zp := challenge(3)
                let nr := h(25)
                let ns := h(27)
                let zpm := mload(0x280)
                let rot := at(h(26))
                for { let i := 0 } lt(i, nr) { i := add(i, 1) } {
                    let wr := mload(slot(u16at(add(rot, shl(1, i)))))
                    mstore(add(zpm, shl(5, i)), addmod(zp, sub(fr(), mulmod(z, wr, fr())), fr()))
                }
                let zs := add(zpm, shl(5, nr))
                let den := add(zs, mul(ns, 0x60))
                weights := add(den, shl(5, sub(ns, 1)))
                let count := 0
                let p := at(h(28))
                for { let s := 0 } lt(s, ns) { s := add(s, 1) } {
                    let prod := set_denominators(p, zpm, add(weights, shl(5, count)), z)
                    count := add(count, set_k(p))
                    mstore(add(zs, shl(5, s)), prod)
                    if s { mstore(add(den, shl(5, sub(s, 1))), prod) }
                    p := set_next(p)
                }
                if iszero(eq(p, at(h(31)))) { fail() }
                // The constants follow the SHPLONK inputs: 1/(z^n - 1), cc per set, the weights.
                if iszero(eq(h(18), add(add(h(24), add(1, ns)), count))) { fail() }
                // The common polynomials' denominators follow; one inversion for all.
                let total := add(sub(ns, 1), count)
                let d := add(den, shl(5, total))
                let all := add(total, common_denominators(d))
                batch_invert(den, all, add(den, shl(5, all)))
                common_polys(d)
            }

            // Pass 2: cc_S = z_S1/z_S (1 for the first set) and 1/Σ_j w_j per set.
            function shplonk_coeffs(weights) {
                let ns := h(27)
                let zs := add(mload(0x280), shl(5, h(25)))
                let cc := add(zs, shl(5, ns))
                let sumw := add(cc, shl(5, ns))
                let den := add(sumw, shl(5, ns))
                let count := 0
                let p := at(h(28))
                for { let s := 0 } lt(s, ns) { s := add(s, 1) } {
                    let sum := 0
                    for { let j := set_k(p) } j { j := sub(j, 1) } {
                        sum := addmod(sum, word(weights, count), fr())
                        count := add(count, 1)
                    }
                    mstore(add(sumw, shl(5, s)), sum)
                    switch s
                    case 0 { mstore(cc, 1) }
                    default { mstore(add(cc, shl(5, s)), mulmod(word(zs, 0), word(den, sub(s, 1)), fr())) }
                    p := set_next(p)
                }
                batch_invert(sumw, ns, add(weights, shl(5, count)))
                shplonk_inputs(weights, cc)
            }

            // The program's inputs: 1/(z^n - 1), each cc, each weight · cc/Σ w.
            function shplonk_inputs(weights, cc) {
                let ns := h(27)
                let sh := h(24)
                mstore(slot(sh), mload(0x2c0))
                let count := 0
                let p := at(h(28))
                for { let s := 0 } lt(s, ns) { s := add(s, 1) } {
                    let c := word(cc, s)
                    mstore(slot(add(add(sh, 1), s)), c)
                    let scale := mulmod(c, word(add(cc, shl(5, ns)), s), fr())
                    for { let j := set_k(p) } j { j := sub(j, 1) } {
                        let w := mulmod(word(weights, count), scale, fr())
                        mstore(slot(add(add(add(sh, 1), ns), count)), w)
                        count := add(count, 1)
                    }
                    p := set_next(p)
                }
            }

            // accumulator += s·(x, y) for a point of the proof: always through a precompile,
            // which checks it.
            function add_point(p, s) {
                let x := calldataload(p)
                let y := calldataload(add(p, 0x20))
                switch eq(s, 1)
                case 1 {
                    mstore(0x00, mload(0x200))
                    mstore(0x20, mload(0x220))
                    mstore(0x40, x)
                    mstore(0x60, y)
                    if iszero(staticcall(gas(), 0x06, 0x00, 0x80, 0x200, 0x40)) { fail() }
                }
                default { msm_add(x, y, s) }
            }

            function commitments_msm() {
                let sc := mload(0x300)
                let np := h(13)
                let pre := at(h(14))
                for { let i := 0 } lt(i, np) { i := add(i, 1) } {
                    let p := add(pre, shl(6, i))
                    let x := mload(p)
                    let y := mload(add(p, 0x20))
                    let s := word(sc, i)
                    // The identity and zero scalars add nothing.
                    if iszero(or(iszero(or(x, y)), iszero(s))) { msm_add(x, y, s) }
                }
                let nw := h(9)
                let proof := mload(0x2e0)
                for { let i := 0 } lt(i, nw) { i := add(i, 1) } {
                    add_point(add(proof, shl(6, i)), word(sc, add(np, i)))
                }
                let s := word(sc, add(np, nw))
                for { let i := 0 } lt(i, h(8)) { i := add(i, 1) } {
                    add_point(proof_point(add(nw, i)), s)
                    s := mulmod(s, mload(0x2a0), fr())
                }
            }

            // lhs = MSM - g·G - z_S1·W + z'·W'; e(lhs, g2)·e(W', -s·g2) = 1.
            function pairing(g) {
                let srs := at(h(15))
                msm_add(mload(srs), mload(add(srs, 0x20)), neg(g))
                let w := opening_points()
                add_point(w, neg(word(add(mload(0x280), shl(5, h(25))), 0)))
                add_point(add(w, 0x40), challenge(3))
                // e(lhs, g2) · e(W', -s·g2) = 1
                mstore(0x00, mload(0x200))
                mstore(0x20, mload(0x220))
                mstore(0x40, mload(add(srs, 0x40)))
                mstore(0x60, mload(add(srs, 0x60)))
                mstore(0x80, mload(add(srs, 0x80)))
                mstore(0xa0, mload(add(srs, 0xa0)))
                mstore(0xc0, calldataload(add(w, 0x40)))
                mstore(0xe0, calldataload(add(w, 0x60)))
                mstore(0x100, mload(add(srs, 0xc0)))
                mstore(0x120, mload(add(srs, 0xe0)))
                mstore(0x140, mload(add(srs, 0x100)))
                mstore(0x160, mload(add(srs, 0x120)))
                if iszero(staticcall(gas(), 0x08, 0x00, 0x180, 0x00, 0x20)) { fail() }
                if iszero(eq(mload(0x00), 1)) { fail() }
            }

            load_key()
            transcript()
            read_proof()
            shplonk_coeffs(shplonk_weights())
            run_program()
            commitments_msm()
            pairing(word(mload(0x300), add(add(h(13), h(9)), 1)))
            mstore(0x00, 1)
            return(0x00, 0x20)
        }
    }
}
