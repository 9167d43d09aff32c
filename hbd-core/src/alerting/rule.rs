//! Threshold rules: one metric's `warning`, `critical`, `operator` and `hysteresis`, and
//! the pure function that decides the next alert level from the current one and a value.

use serde::Serialize;

use crate::model::Level;

pub use crate::model::Operator;

/// One metric's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Rule {
    /// WARNING when `value OP warning`.
    pub warning: Option<f64>,
    /// CRITICAL when `value OP critical`.
    pub critical: Option<f64>,
    /// The comparison.
    pub operator: Operator,
    /// Fraction of a threshold the value must move back past before the level drops:
    /// with critical 90 and hysteresis 0.1 the CRITICAL level holds until the value is
    /// 81 or less (`90 - 10% of 90`); for `<` and `<=` the band mirrors upward.
    pub hysteresis: f64,
    /// How long a raised level must hold before it is told (`for:`); zero: at once.
    #[serde(skip)]
    pub pending: std::time::Duration,
}

impl Rule {
    fn threshold(&self, level: Level) -> Option<f64> {
        match level {
            Level::Warning => self.warning,
            Level::Critical => self.critical,
            Level::Ok | Level::Unknown => None,
        }
    }

    /// Whether the value is still inside `level`'s band: past its threshold moved back
    /// by the hysteresis. Equality operators have no band.
    fn holds_with_band(&self, level: Level, value: f64) -> bool {
        let Some(t) = self.threshold(level) else {
            return false;
        };
        let band = self.hysteresis * t.abs();
        match self.operator {
            Operator::Gt => value > t - band,
            Operator::Ge => value >= t - band,
            Operator::Lt => value < t + band,
            Operator::Le => value <= t + band,
            Operator::Eq | Operator::Ne => self.operator.holds(value, t),
        }
    }

    /// The level `value` reaches on its own, without regard to the current level.
    pub fn raw_level(&self, value: f64) -> Level {
        if self.critical.is_some_and(|t| self.operator.holds(value, t)) {
            Level::Critical
        } else if self.warning.is_some_and(|t| self.operator.holds(value, t)) {
            Level::Warning
        } else {
            Level::Ok
        }
    }

    /// The next level from `current` for `value`: escalation is immediate; the
    /// hysteresis band holds only the level the value is leaving, and once the value has
    /// left it the plain thresholds decide, as the original hbd does (warning 80,
    /// critical 90, hysteresis 0.1: from CRITICAL, 85 stays CRITICAL, 80.5 is WARNING and
    /// 79 is OK; from WARNING, 75 stays WARNING).
    pub fn next_level(&self, current: Level, value: f64) -> Level {
        let raw = self.raw_level(value);
        if raw >= current || current == Level::Unknown {
            return raw;
        }
        if self.holds_with_band(current, value) {
            current
        } else {
            raw
        }
    }

    /// The threshold that applies at `level` (for messages and the API).
    pub fn threshold_for(&self, level: Level) -> Option<f64> {
        self.threshold(level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Level::*;

    fn rule(warning: Option<f64>, critical: Option<f64>, op: &str, h: f64) -> Rule {
        Rule {
            warning,
            critical,
            operator: Operator::parse(op).unwrap(),
            hysteresis: h,
            ..Rule::default()
        }
    }

    #[test]
    fn documented_hysteresis_example() {
        // critical 90, hysteresis 0.1: recovery threshold 81.
        let r = rule(None, Some(90.0), ">", 0.1);
        let mut level = Ok;
        let mut seen = Vec::new();
        for v in [91.0, 85.0, 81.5, 79.0] {
            level = r.next_level(level, v);
            seen.push(level);
        }
        assert_eq!(seen, [Critical, Critical, Critical, Ok]);
    }

    #[test]
    fn the_original_readme_example() {
        // The original's README: warning 80, critical 90, hysteresis 0.1 gives
        // 91 -> CRITICAL, 85 -> CRITICAL, 79 -> OK.
        let r = rule(Some(80.0), Some(90.0), ">", 0.1);
        let mut level = Ok;
        let seen: Vec<Level> = [91.0, 85.0, 79.0]
            .iter()
            .map(|v| {
                level = r.next_level(level, *v);
                level
            })
            .collect();
        assert_eq!(seen, [Critical, Critical, Ok]);
    }

    #[test]
    fn level_table() {
        // (rule, current, value, expected)
        let up = rule(Some(80.0), Some(90.0), ">", 0.1);
        let down = rule(Some(20.0), Some(10.0), "<", 0.1);
        let cases: &[(&Rule, Level, f64, Level)] = &[
            (&up, Ok, 50.0, Ok),
            (&up, Ok, 80.0, Ok), // > is strict
            (&up, Ok, 80.1, Warning),
            (&up, Ok, 95.0, Critical), // straight to CRITICAL
            (&up, Warning, 95.0, Critical),
            (&up, Critical, 85.0, Critical), // inside the band (81..90)
            (&up, Critical, 80.5, Warning),  // below 81, above warning 80
            (&up, Critical, 79.0, Ok),       // left CRITICAL: the plain thresholds decide
            (&up, Critical, 75.0, Ok),       // WARNING's band holds only a WARNING it leaves
            (&up, Critical, 71.0, Ok),
            (&up, Warning, 73.0, Warning),
            (&up, Warning, 72.0, Ok), // band is strict like the operator
            // `<` mirrors upward: warning 20 recovers at 22, critical 10 at 11.
            (&down, Ok, 25.0, Ok),
            (&down, Ok, 19.0, Warning),
            (&down, Ok, 5.0, Critical),
            (&down, Critical, 10.5, Critical),
            (&down, Critical, 11.5, Warning),
            (&down, Critical, 21.0, Ok), // above warning 20: left both
            (&down, Warning, 19.0, Warning),
            (&down, Warning, 21.0, Warning),
            (&down, Warning, 22.5, Ok),
        ];
        for (i, (r, current, value, want)) in cases.iter().enumerate() {
            assert_eq!(
                r.next_level(*current, *value),
                *want,
                "case {i}: {current:?} at {value}"
            );
        }
    }

    #[test]
    fn every_operator() {
        let cases: &[(&str, f64, Level)] = &[
            (">", 5.0, Ok),
            (">", 5.1, Critical),
            (">=", 5.0, Critical),
            ("<", 5.0, Ok),
            ("<", 4.9, Critical),
            ("<=", 5.0, Critical),
            ("==", 5.0, Critical),
            ("==", 5.1, Ok),
            ("!=", 5.0, Ok),
            ("!=", 0.0, Critical),
        ];
        for (op, value, want) in cases {
            let r = rule(None, Some(5.0), op, 0.5);
            assert_eq!(r.next_level(Ok, *value), *want, "{op} {value}");
        }
        // Equality operators have no band: leaving the value recovers at once.
        let eq = rule(None, Some(1.0), "==", 0.5);
        assert_eq!(eq.next_level(Critical, 1.2), Ok);
        assert!(Operator::parse("=>").is_none());
    }
}
