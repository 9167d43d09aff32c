//! Words many hosts report alike (the agent's version, its platform), held once and
//! shared: a million hosts on three agent versions keep three strings, not a million.
//! Bounded, since hosts choose them: past [`MAX_WORDS`] distinct words a new one is
//! kept by its host alone.

use std::collections::HashSet;
use std::sync::Arc;

/// Distinct words kept for sharing at most.
pub const MAX_WORDS: usize = 1024;

/// The shared words.
#[derive(Debug, Default)]
pub struct Words(HashSet<Arc<str>>);

impl Words {
    /// `word`, shared with every host that reported the same.
    pub fn intern(&mut self, word: &str) -> Arc<str> {
        if let Some(held) = self.0.get(word) {
            return held.clone();
        }
        let new: Arc<str> = word.into();
        if self.0.len() < MAX_WORDS {
            self.0.insert(new.clone());
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_word_is_one_string_and_the_table_stays_bounded() {
        let mut words = Words::default();
        let a = words.intern("0.1.0");
        let b = words.intern("0.1.0");
        assert!(Arc::ptr_eq(&a, &b));
        for i in 0..MAX_WORDS + 10 {
            words.intern(&format!("v{i}"));
        }
        assert_eq!(words.0.len(), MAX_WORDS);
        let late = words.intern("late");
        assert_eq!(&*late, "late");
        assert!(
            !Arc::ptr_eq(&late, &words.intern("late")),
            "not kept past the bound"
        );
    }
}
