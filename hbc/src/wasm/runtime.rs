//! The one shared wasmtime `Engine` with epoch interruption, the thread that advances
//! the epoch, and loading components through the on-disk cache.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::cache::{self, RuntimeError};

/// Instances that can be alive at once (plugins run one call at a time each).
pub const POOL_SLOTS: u32 = 64;
/// Largest linear memory a pooled instance may grow to (the operator's `memory_mb`
/// limit applies below it).
pub const MAX_POOLED_MEMORY: usize = 1 << 30;

/// How often the epoch advances: the granularity of call deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The shared engine; cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(super) engine: Engine,
    cache_dir: Option<PathBuf>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("cache_dir", &self.cache_dir)
            .finish()
    }
}

impl Runtime {
    /// An engine with epoch interruption, and a thread ticking it every
    /// [`EPOCH_TICK`]. Compiled components are cached under `cache_dir` when given.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Runtime, RuntimeError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        // Every call gets a fresh instance: the pooling allocator makes that cheap by
        // reusing pre-reserved slots instead of mapping memory each time.
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(POOL_SLOTS)
            .total_core_instances(POOL_SLOTS * 4)
            .total_memories(POOL_SLOTS * 2)
            .total_tables(POOL_SLOTS * 4)
            .max_memory_size(MAX_POOLED_MEMORY);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| RuntimeError::Wasm(e.to_string()))?;
        let weak = engine.weak();
        std::thread::Builder::new()
            .name("hbc-wasm-epoch".into())
            .spawn(move || {
                // Ends when the last Engine handle is gone.
                while let Some(engine) = weak.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .map_err(|e| RuntimeError::Wasm(format!("cannot start the epoch thread: {e}")))?;
        if let Some(dir) = &cache_dir {
            let _ = std::fs::create_dir_all(dir);
        }
        Ok(Runtime { engine, cache_dir })
    }

    /// Compiles the component in `wasm` into the cache file `out` (the work of
    /// `hbc-compile`, which the agent runs in a child process).
    #[cfg(feature = "compiler")]
    pub fn compile_to(&self, wasm: &Path, out: &Path) -> Result<(), RuntimeError> {
        cache::compile_to(&self.engine, wasm, out)
    }

    /// Compiles (or loads from the cache) the component in `path`.
    pub(super) fn load(&self, path: &Path) -> Result<Arc<Component>, RuntimeError> {
        let bytes = std::fs::read(path).map_err(|source| RuntimeError::Read {
            path: path.to_owned(),
            source,
        })?;
        cache::component(&self.engine, &bytes, self.cache_dir.as_deref()).map(Arc::new)
    }
}
