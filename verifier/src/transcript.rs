//! The proof transcript: Fiat–Shamir with Keccak-256, laid out so that the Solidity verifier
//! snark-verifier generates reads the same proof bytes. One proof format serves `zkinfer
//! verify`, this library and the contract.
//!
//! The sponge state is a byte buffer. Absorbing a point appends its affine `x` then `y`, and
//! absorbing a scalar appends it, each as 32 big-endian bytes. Squeezing hashes the buffer
//! (with one extra byte `0x01` when the buffer is exactly a previous challenge, so consecutive
//! challenges differ), replaces the buffer by the hash, and reads the hash as a big-endian
//! integer reduced modulo the scalar field. The proof stream holds the same encodings.

use std::io::{self, Read, Write};

use halo2_axiom::halo2curves::bn256::{Fq, Fr, G1Affine};
use halo2_axiom::halo2curves::ff::{FromUniformBytes, PrimeField};
use halo2_axiom::halo2curves::CurveAffine;
use halo2_axiom::transcript::{
    EncodedChallenge, Transcript, TranscriptRead, TranscriptReadBuffer, TranscriptWrite,
    TranscriptWriterBuffer,
};
use sha3::{Digest, Keccak256};

/// A challenge: the Keccak-256 output as a big-endian integer modulo the scalar field.
#[derive(Clone, Copy, Debug)]
pub struct KeccakChallenge(Fr);

impl EncodedChallenge<G1Affine> for KeccakChallenge {
    type Input = [u8; 32];

    fn new(hash: &[u8; 32]) -> Self {
        let mut wide = [0u8; 64];
        for (w, h) in wide.iter_mut().zip(hash.iter().rev()) {
            *w = *h;
        }
        Self(Fr::from_uniform_bytes(&wide))
    }

    fn get_scalar(&self) -> Fr {
        self.0
    }
}

/// The shared sponge of [`KeccakRead`] and [`KeccakWrite`].
#[derive(Debug, Default)]
struct Sponge {
    buf: Vec<u8>,
}

impl Sponge {
    fn squeeze(&mut self) -> KeccakChallenge {
        let mut hasher = Keccak256::new();
        hasher.update(&self.buf);
        if self.buf.len() == 32 {
            hasher.update([1u8]);
        }
        let hash: [u8; 32] = hasher.finalize().into();
        self.buf = hash.to_vec();
        KeccakChallenge::new(&hash)
    }

    fn point(&mut self, p: &G1Affine) -> io::Result<()> {
        let (x, y) = coordinates(p)?;
        self.buf.extend(be(&x.to_repr()));
        self.buf.extend(be(&y.to_repr()));
        Ok(())
    }

    fn scalar(&mut self, s: &Fr) {
        self.buf.extend(be(&s.to_repr()));
    }
}

fn coordinates(p: &G1Affine) -> io::Result<(Fq, Fq)> {
    Option::from(p.coordinates())
        .map(|c: halo2_axiom::halo2curves::Coordinates<G1Affine>| (*c.x(), *c.y()))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "the point at infinity"))
}

/// Little-endian field representation to 32 big-endian bytes.
fn be(repr: &[u8; 32]) -> [u8; 32] {
    let mut out = *repr;
    out.reverse();
    out
}

fn read32(r: &mut impl Read) -> io::Result<[u8; 32]> {
    let mut b = [0u8; 32];
    r.read_exact(&mut b)?;
    b.reverse();
    Ok(b)
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("non-canonical {what} in the proof"),
    )
}

/// Reads a proof.
#[derive(Debug)]
pub struct KeccakRead<R> {
    reader: R,
    sponge: Sponge,
}

/// Writes a proof.
#[derive(Debug)]
pub struct KeccakWrite<W> {
    writer: W,
    sponge: Sponge,
}

impl<R: Read> TranscriptReadBuffer<R, G1Affine, KeccakChallenge> for KeccakRead<R> {
    fn init(reader: R) -> Self {
        Self {
            reader,
            sponge: Sponge::default(),
        }
    }
}

impl<W: Write> TranscriptWriterBuffer<W, G1Affine, KeccakChallenge> for KeccakWrite<W> {
    fn init(writer: W) -> Self {
        Self {
            writer,
            sponge: Sponge::default(),
        }
    }

    fn finalize(self) -> W {
        self.writer
    }
}

macro_rules! sponge_transcript {
    ($t:ident, $bound:ident) => {
        impl<S: $bound> Transcript<G1Affine, KeccakChallenge> for $t<S> {
            fn squeeze_challenge(&mut self) -> KeccakChallenge {
                self.sponge.squeeze()
            }

            fn common_point(&mut self, point: G1Affine) -> io::Result<()> {
                self.sponge.point(&point)
            }

            fn common_scalar(&mut self, scalar: Fr) -> io::Result<()> {
                self.sponge.scalar(&scalar);
                Ok(())
            }
        }
    };
}

sponge_transcript!(KeccakRead, Read);
sponge_transcript!(KeccakWrite, Write);

impl<R: Read> TranscriptRead<G1Affine, KeccakChallenge> for KeccakRead<R> {
    fn read_point(&mut self) -> io::Result<G1Affine> {
        let x = Option::<Fq>::from(Fq::from_repr(read32(&mut self.reader)?));
        let y = Option::<Fq>::from(Fq::from_repr(read32(&mut self.reader)?));
        let p = x
            .zip(y)
            .and_then(|(x, y)| Option::from(G1Affine::from_xy(x, y)))
            .ok_or_else(|| invalid("curve point"))?;
        self.sponge.point(&p)?;
        Ok(p)
    }

    fn read_scalar(&mut self) -> io::Result<Fr> {
        let s = Option::<Fr>::from(Fr::from_repr(read32(&mut self.reader)?))
            .ok_or_else(|| invalid("scalar"))?;
        self.sponge.scalar(&s);
        Ok(s)
    }
}

impl<W: Write> TranscriptWrite<G1Affine, KeccakChallenge> for KeccakWrite<W> {
    fn write_point(&mut self, point: G1Affine) -> io::Result<()> {
        self.sponge.point(&point)?;
        let (x, y) = coordinates(&point)?;
        self.writer.write_all(&be(&x.to_repr()))?;
        self.writer.write_all(&be(&y.to_repr()))
    }

    fn write_scalar(&mut self, scalar: Fr) -> io::Result<()> {
        self.sponge.scalar(&scalar);
        self.writer.write_all(&be(&scalar.to_repr()))
    }
}
