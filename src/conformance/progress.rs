//! How far a run is, told to whoever shows it: the engine reports, the command line shows
//! (a ticker on stderr), tests and libraries stay silent. The engine never prints.

/// Receives a run's progress.
pub trait Progress: Send + Sync {
    /// The number of scenarios the run will finish (confirmations alone not counted).
    fn planned(&self, _total: usize) {}
    /// A scenario of `rule` finished.
    fn finished(&self, _rule: &str) {}
    /// The run is over (the sink may clear its line).
    fn done(&self) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {}
