//! Tests of the table functions against their float definitions and domains.

use super::*;

#[test]
fn functions_match_their_float_definitions() {
    let sig = TableFn::Sigmoid {
        in_scale: 8,
        out_scale: 8,
    };
    assert_eq!(sig.apply(0), 128);
    assert_eq!(sig.apply(-100_000), 0);
    assert_eq!(sig.apply(100_000), 256);
    let exp = TableFn::ExpNeg {
        in_scale: 8,
        out_scale: 8,
    };
    assert_eq!(exp.apply(0), 256);
    assert_eq!(exp.apply(256), (256.0 * (-1.0f64).exp()).round() as i64);
    assert_eq!(TableFn::Relu.apply(-3), 0);
    let b = TableBounds {
        neg: 100,
        pos: 256,
        exp: 50,
        limb_bits: 8,
    };
    assert_eq!(TableFn::Relu.domain(&b), (-256, 256));
    assert_eq!(exp.domain(&b), (0, 50));
    assert_eq!(b.signed_bits(), 9);
}

#[test]
fn saturating_tables_cover_only_their_interval_and_clamp_exactly() {
    let b = TableBounds {
        neg: 1 << 14,
        pos: 1 << 14,
        exp: 1,
        limb_bits: 10,
    };
    for f in [
        TableFn::Sigmoid {
            in_scale: 6,
            out_scale: 8,
        },
        TableFn::Map {
            g: MapFn::Tanh,
            in_scale: 8,
            out_scale: 7,
            extent: None,
        },
        TableFn::Map {
            g: MapFn::Erf,
            in_scale: 9,
            out_scale: 9,
            extent: None,
        },
    ] {
        let (min, max) = f.domain(&b);
        // Far smaller than the activation range, and exact at every input.
        assert!(max - min < 4096, "{} covers {min}..{max}", f.name());
        for x in -(1i64 << 14)..(1 << 14) {
            assert_eq!(
                f.apply(f.table_input(x, &b)),
                f.apply(x),
                "{} at {x}",
                f.name()
            );
        }
    }
    // GELU saturates to 0 below and to the identity above, at an output 2 bits finer.
    let gelu = TableFn::Map {
        g: MapFn::Gelu,
        in_scale: 7,
        out_scale: 9,
        extent: None,
    };
    let (min, max) = gelu.domain(&b);
    assert!(min > -1024 && max < 1024, "{min}..{max}");
    for x in -(1i64 << 14)..(1 << 14) {
        assert_eq!(gelu.output(x, &b), gelu.apply(x), "gelu at {x}");
    }
}

#[test]
fn functions_that_turn_into_the_identity_are_exact_beyond_their_tables() {
    let b = TableBounds {
        neg: 1 << 13,
        pos: 1 << 13,
        exp: 1,
        limb_bits: 10,
    };
    for g in [
        MapFn::Softplus,
        MapFn::Mish,
        MapFn::Silu,
        MapFn::HardSwish,
        MapFn::elu(1.0),
        MapFn::elu(0.5),
        MapFn::celu(2.0),
        MapFn::thresholded(1.5),
        MapFn::GeluTanh,
    ] {
        let f = TableFn::Map {
            g,
            in_scale: 6,
            out_scale: 8,
            extent: None,
        };
        let (min, max) = f.domain(&b);
        assert!(max - min < 2000, "{}: {min}..{max}", g.name());
        for x in -(1i64 << 13)..(1 << 13) {
            assert_eq!(f.output(x, &b), f.apply(x), "{} at {x}", g.name());
        }
    }
}

#[test]
fn declared_bounds_hold_every_table_output() {
    let b = TableBounds {
        neg: 1 << 9,
        pos: 1 << 9,
        exp: 300,
        limb_bits: 8,
    };
    // 1/x and x^-2 are largest near 0, not at the ends of the domain.
    for f in [
        TableFn::Map {
            g: MapFn::pow(-1.0),
            in_scale: 7,
            out_scale: 7,
            extent: None,
        },
        TableFn::Map {
            g: MapFn::pow(-2.0),
            in_scale: 7,
            out_scale: 7,
            extent: None,
        },
        TableFn::Map {
            g: MapFn::pow(3.0),
            in_scale: 7,
            out_scale: 7,
            extent: None,
        },
        TableFn::Map {
            g: MapFn::Sqrt,
            in_scale: 7,
            out_scale: 7,
            extent: None,
        },
        TableFn::ExpNeg {
            in_scale: 7,
            out_scale: 7,
        },
    ] {
        let top = f.max_abs(&b);
        let (min, max) = f.domain(&b);
        for x in min..max {
            assert!(f.apply(x).unsigned_abs() <= top, "{} at {x}", f.name());
        }
        assert!((min..max).any(|x| f.apply(x).unsigned_abs() == top));
    }
}

#[test]
fn erf_matches_known_values() {
    for (x, want) in [
        (0.0, 0.0),
        (0.5, 0.520_499_877_8),
        (1.0, 0.842_700_792_9),
        (-2.0, -0.995_322_265),
    ] {
        assert!((erf(x) - want).abs() < 1e-6, "erf({x}) = {}", erf(x));
    }
    let tanh = TableFn::Map {
        g: MapFn::Tanh,
        in_scale: 7,
        out_scale: 7,
        extent: None,
    };
    assert_eq!(tanh.apply(128), (128.0 * 1.0f64.tanh()).round() as i64);
    assert_eq!(TableFn::Negative.apply(-1), 1);
    assert_eq!(TableFn::Negative.apply(0), 0);
    assert_eq!(TableFn::Clip { lo: -5, hi: 7 }.apply(9), 7);
}

#[test]
fn a_prepared_table_answers_as_the_function_does() {
    let b = TableBounds {
        neg: 1 << 12,
        pos: 1 << 12,
        exp: 300,
        limb_bits: 10,
    };
    let map = |g, extent| TableFn::Map {
        g,
        in_scale: 8,
        out_scale: 10,
        extent,
    };
    for f in [
        TableFn::Identity,
        TableFn::Relu,
        TableFn::Sigmoid {
            in_scale: 6,
            out_scale: 8,
        },
        TableFn::ExpNeg {
            in_scale: 8,
            out_scale: 8,
        },
        TableFn::Clip { lo: -500, hi: 700 },
        TableFn::Range { bits: 9 },
        map(MapFn::Tanh, None),
        map(MapFn::Exp, None),
        map(MapFn::Gelu, None),
        map(MapFn::Sqrt, Some((0, 2000))),
    ] {
        let p = f.prepared(&b);
        for x in -(1i64 << 13)..(1 << 13) {
            assert_eq!(p.contains(x), f.contains(x, &b), "{} at {x}", f.name());
            if f.contains(x, &b) {
                assert_eq!(p.output(x), f.output(x, &b), "{} at {x}", f.name());
            }
        }
    }
}
