//! Where proving time goes, from the `tracing` spans a prover emits. halo2-axiom-gpu opens an
//! INFO span `halo2_section` with a field `phase = "<label>"` around every step (synthesis,
//! each MSM and NTT dispatch, the quotient, the openings) and logs its GPU memory peak when
//! `create_proof` ends; halo2-axiom's CPU prover emits none. [`SectionProfiler`] sums the wall
//! time spent inside each label and keeps that peak; `zkinfer prove --profile` installs it.
//!
//! Spans measure host wall time. Some kernels return before the GPU finishes (device-side
//! NTTs, the quotient), so their time can show up in the next synchronizing span (usually an
//! MSM) unless `CUDA_LAUNCH_BLOCKING=1` is set, as `benches/gpu.sh` does for its profiled run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The span name halo2-axiom-gpu gives every timed section.
const SECTION: &str = "halo2_section";

/// Time and entries per section label.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sections {
    /// Label → (total time inside it, times entered).
    pub time: BTreeMap<String, (Duration, usize)>,
    /// The GPU memory line logged when `create_proof` ends (its peak), if any.
    pub gpu_memory: Option<String>,
}

/// What a section label measures, for the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    /// The circuit's own synthesis and the witness inversion (on the CPU).
    Witness,
    /// Multi-scalar multiplications (commitments).
    Msm,
    /// NTTs and inverse NTTs, coset and extended-domain conversions.
    Ntt,
    /// The quotient `h(X)`: custom gates, permutation and lookup parts (its NTTs included).
    Quotient,
}

impl Category {
    pub fn of(label: &str) -> Option<Self> {
        match label {
            "synthesize" | "batch_invert_witness" => Some(Self::Witness),
            l if l.starts_with("multiexp") => Some(Self::Msm),
            l if l.contains("fft") => Some(Self::Ntt),
            "phase4a" => Some(Self::Quotient),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Witness => "witness generation",
            Self::Msm => "MSM",
            Self::Ntt => "NTT/FFT",
            Self::Quotient => "quotient h(X)",
        }
    }
}

impl Sections {
    /// Total time per category. The MSM and NTT spans are leaves; the quotient contains
    /// some of the NTTs, so the categories may overlap and need not sum to the proof time.
    pub fn by_category(&self) -> BTreeMap<Category, Duration> {
        let mut out = BTreeMap::new();
        for (label, (t, _)) in &self.time {
            if let Some(c) = Category::of(label) {
                *out.entry(c).or_default() += *t;
            }
        }
        out
    }

    /// A table: each category, then every label by time.
    pub fn report(&self) -> String {
        let mut s = String::new();
        if self.time.is_empty() {
            s.push_str("no prover sections were recorded (the CPU prover emits none)\n");
            return s;
        }
        for (c, t) in self.by_category() {
            s.push_str(&format!("  {:<20} {:>10.1} ms\n", c.name(), ms(t)));
        }
        let mut rows: Vec<_> = self.time.iter().collect();
        rows.sort_by_key(|b| std::cmp::Reverse(b.1 .0));
        s.push_str("  by section (nested sections count in their parents too):\n");
        for (label, (t, n)) in rows {
            s.push_str(&format!("    {label:<36} {:>10.1} ms  ×{n}\n", ms(*t)));
        }
        if let Some(m) = &self.gpu_memory {
            s.push_str(&format!("  GPU memory at the end of create_proof: {m}\n"));
        }
        s
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A `tracing` layer summing the time inside each `halo2_section` label.
#[derive(Clone, Default)]
pub struct SectionProfiler {
    sections: Arc<Mutex<Sections>>,
}

/// The label of a section span, kept in its extensions; the instant it was last entered.
struct Label(String);
struct Entered(Instant);

#[derive(Default)]
struct Find {
    field: &'static str,
    value: Option<String>,
}

impl Visit for Find {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == self.field {
            self.value = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == self.field {
            self.value = Some(format!("{value:?}").trim_matches('"').to_string());
        }
    }
}

impl SectionProfiler {
    /// What has been recorded so far.
    pub fn sections(&self) -> Sections {
        self.sections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets what was recorded (before the proof to measure).
    pub fn reset(&self) {
        *self.sections.lock().unwrap_or_else(PoisonError::into_inner) = Sections::default();
    }

    /// Installs a registry with this layer as the process's subscriber. Fails when one is
    /// already installed.
    pub fn install(&self) -> Result<(), String> {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(self.clone());
        tracing::subscriber::set_global_default(subscriber).map_err(|e| e.to_string())
    }
}

impl<S> Layer<S> for SectionProfiler
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != SECTION {
            return;
        }
        let mut find = Find {
            field: "phase",
            value: None,
        };
        attrs.record(&mut find);
        if let (Some(label), Some(span)) = (find.value, ctx.span(id)) {
            span.extensions_mut().insert(Label(label));
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            if ext.get_mut::<Label>().is_some() {
                ext.replace(Entered(Instant::now()));
            }
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let ext = span.extensions();
        let (Some(Label(label)), Some(Entered(at))) = (ext.get::<Label>(), ext.get::<Entered>())
        else {
            return;
        };
        let mut sections = self.sections.lock().unwrap_or_else(PoisonError::into_inner);
        let e = sections.time.entry(label.clone()).or_default();
        e.0 += at.elapsed();
        e.1 += 1;
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if !event.metadata().target().contains("memory_manager") {
            return;
        }
        let mut find = Find {
            field: "message",
            value: None,
        };
        event.record(&mut find);
        if let Some(m) = find.value.filter(|m| m.contains("(create_proof)")) {
            self.sections
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .gpu_memory = Some(m);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn sums_each_label_and_keeps_the_memory_line() {
        let profiler = SectionProfiler::default();
        let subscriber = tracing_subscriber::registry().with(profiler.clone());
        tracing::subscriber::with_default(subscriber, || {
            let root = tracing::info_span!("halo2_section", phase = "create_proof").entered();
            for _ in 0..3 {
                let _msm = tracing::info_span!("halo2_section", phase = "multiexp").entered();
                std::thread::sleep(Duration::from_millis(2));
            }
            {
                let _q = tracing::info_span!("halo2_section", phase = "phase4a").entered();
                let _n = tracing::info_span!("halo2_section", phase = "cosetfft_many").entered();
                std::thread::sleep(Duration::from_millis(1));
            }
            // Other spans and events are ignored.
            let _other = tracing::info_span!("elsewhere", phase = "multiexp").entered();
            tracing::info!(target: "openvm_cuda_common::memory_manager", "GPU mem: used=1 GB, current=0 B, peak=3.2 GB, in pool=4 GB (create_proof)");
            tracing::info!(target: "openvm_cuda_common::memory_manager", "GPU mem: peak=1 GB (phase1)");
            drop(root);
        });
        let s = profiler.sections();
        let (msm, n) = s.time["multiexp"];
        assert_eq!(n, 3, "the span named elsewhere is not a section");
        assert!(msm >= Duration::from_millis(6), "{msm:?}");
        assert!(s.time["phase4a"].0 >= s.time["cosetfft_many"].0);
        assert!(s.time["create_proof"].0 >= msm);
        let cats = s.by_category();
        assert_eq!(cats[&Category::Msm], msm);
        assert_eq!(cats[&Category::Ntt], s.time["cosetfft_many"].0);
        assert!(!cats.contains_key(&Category::Witness));
        assert!(s.gpu_memory.as_deref().unwrap().contains("peak=3.2 GB"));
        assert!(s.report().contains("MSM"));
        profiler.reset();
        assert!(profiler.sections().report().contains("no prover sections"));
    }
}
