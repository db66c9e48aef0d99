//! The base of the crate's input checks: a problem is a [`FieldIssue`] named by the input's
//! JSON path, and [`Issues`] gathers them so that every problem is listed at once. Validators
//! return values (`Result<T, FieldIssue>`, or a value with its [`Issues`]); the collector keeps
//! the values and the problems apart. Nothing here knows settings, records or HTTP.

pub mod currency;
pub mod text;

use crate::wit::FieldIssue;

/// A problem of one input field, by its JSON path.
pub fn issue(field: impl Into<String>, problem: impl Into<String>) -> FieldIssue {
    FieldIssue { field: field.into(), problem: problem.into() }
}

/// Names a rule's bare problem sentence by the field it is about.
pub trait At<T> {
    fn at(self, field: impl Into<String>) -> Result<T, FieldIssue>;
}

impl<T, E: Into<String>> At<T> for Result<T, E> {
    fn at(self, field: impl Into<String>) -> Result<T, FieldIssue> {
        self.map_err(|problem| issue(field, problem))
    }
}

/// The problems found in one input, in the order they were found.
#[derive(Debug, Default)]
pub struct Issues(Vec<FieldIssue>);

impl Issues {
    /// The value of a check that passed; a failed check's problem is kept and `None` returned.
    pub fn check<T>(&mut self, checked: Result<T, FieldIssue>) -> Option<T> {
        checked.map_err(|problem| self.0.push(problem)).ok()
    }

    /// [`Issues::check`] for a check that may find several problems.
    pub fn check_all<T>(&mut self, checked: Result<T, Vec<FieldIssue>>) -> Option<T> {
        checked.map_err(|problems| self.0.extend(problems)).ok()
    }

    /// The value of a lenient check (one that keeps a value whatever it finds), its problems kept.
    pub fn merge<T>(&mut self, (value, found): (T, Issues)) -> T {
        self.0.extend(found.0);
        value
    }

    /// A problem found outside a check.
    pub fn add(&mut self, problem: FieldIssue) {
        self.0.push(problem);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `value` when nothing was found, else every problem.
    pub fn finish<T>(self, value: T) -> Result<T, Vec<FieldIssue>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }

    pub fn into_vec(self) -> Vec<FieldIssue> {
        self.0
    }
}

impl Extend<FieldIssue> for Issues {
    fn extend<I: IntoIterator<Item = FieldIssue>>(&mut self, problems: I) {
        self.0.extend(problems);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_keep_values_and_problems_apart_in_order() {
        let mut found = Issues::default();
        assert_eq!(found.check(Ok::<_, String>(1).at("a")), Some(1));
        assert_eq!(found.check(Err::<u8, _>("bad").at("b")), None);
        assert_eq!(found.check_all(Err::<u8, _>(vec![issue("c", "x"), issue("d", "y")])), None);
        let mut lenient = Issues::default();
        lenient.add(issue("e", "z"));
        assert_eq!(found.merge(("kept", lenient)), "kept");
        let fields: Vec<String> = found.finish(()).unwrap_err().into_iter().map(|i| i.field).collect();
        assert_eq!(fields, ["b", "c", "d", "e"]);
        assert!(matches!(Issues::default().finish(7), Ok(7)));
    }
}
