//! The types one connection registered (`Conn.register_type`, `Opts.json_dumps`): how
//! their result values decode and which parameters Python must turn into text first.
//!
//! A registry is built by the connection and then shared read-only (behind an `Arc`) by
//! every statement prepared while it was current; registering another type makes a new
//! registry, and the connection re-derives its statements' decoders from it.

use std::collections::{HashMap, HashSet};

use crate::marshal::{ParamValue, Tag};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeRegistry {
    /// Element types whose parameters Python turns into text with a dumper of its own
    /// (a registered `dumps`, or `Opts.json_dumps` for json/jsonb).
    python_dumped: HashSet<u32>,
    /// Array type → element type, for the registered and the Python-dumped types.
    arrays: HashMap<u32, u32>,
}

impl TypeRegistry {
    pub fn is_empty(&self) -> bool {
        self.python_dumped.is_empty() && self.arrays.is_empty()
    }

    /// Parameters of `element_oid` (and of `array_oid`, 0 for none, element-wise) are
    /// dumped by Python.
    pub fn add_python_dumped(&mut self, element_oid: u32, array_oid: u32) {
        self.python_dumped.insert(element_oid);
        if array_oid != 0 {
            self.arrays.insert(array_oid, element_oid);
        }
    }

    /// The element type of a registered array type.
    pub fn array_element(&self, array_oid: u32) -> Option<u32> {
        self.arrays.get(&array_oid).copied()
    }

    /// `(parameter index, parameter type, element type)` of every parameter Python must
    /// dump first (the element type equals the parameter type except for arrays), or an
    /// empty list when `values` can be encoded as they are. Every parameter of a dumped
    /// type is listed once one value needs it, so one retry is enough even for the many
    /// rows of a batch.
    pub fn python_dumps_needed(&self, param_types: &[u32], values: &[ParamValue]) -> Vec<(u32, u32, u32)> {
        if self.python_dumped.is_empty() {
            return Vec::new();
        }
        let dumped: Vec<(u32, u32, u32)> = param_types
            .iter()
            .enumerate()
            .filter_map(|(i, &t)| self.dumped_element(t).map(|e| (i as u32, t, e)))
            .collect();
        let needed = dumped.iter().any(|&(i, t, e)| {
            values.get(i as usize).is_some_and(|v| if t == e { is_not_text(v) } else { has_leaf_not_text(v) })
        });
        if needed {
            dumped
        } else {
            Vec::new()
        }
    }

    fn dumped_element(&self, type_oid: u32) -> Option<u32> {
        if self.python_dumped.contains(&type_oid) {
            return Some(type_oid);
        }
        self.arrays
            .get(&type_oid)
            .copied()
            .filter(|e| self.python_dumped.contains(e))
    }
}

/// True unless the value is already text (a `str`, or what a dumper returned) or NULL.
fn is_not_text(v: &ParamValue) -> bool {
    !matches!(v, ParamValue::None | ParamValue::Str(_) | ParamValue::Tagged(Tag::Text | Tag::Json, _))
}

/// For an array parameter: some element of the (nested) list is not text yet.
fn has_leaf_not_text(v: &ParamValue) -> bool {
    match v {
        ParamValue::List(items) => items.iter().any(has_leaf_not_text),
        other => is_not_text(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oid;
    use ParamValue as P;

    #[test]
    fn dumps_are_asked_for_values_that_are_not_text_yet() {
        let mut r = TypeRegistry::default();
        assert!(r.python_dumps_needed(&[oid::JSON], &[P::Dict(vec![])]).is_empty());
        r.add_python_dumped(oid::JSON, oid::JSON_ARRAY);
        let types = [oid::INT4, oid::JSON, oid::JSON_ARRAY];
        let text = P::Tagged(Tag::Text, vec![P::Str("{}")]);
        // Nothing to dump: NULL, str, dumped text, lists of those.
        for values in [
            vec![P::Int(1), P::None, P::None],
            vec![P::Int(1), P::Str("{}"), P::List(vec![P::Str("1"), P::None])],
            vec![P::Int(1), P::Tagged(Tag::Json, vec![P::Str("[]")]), P::None],
            vec![P::Int(1), text.clone(), P::List(vec![P::List(vec![text.clone()])])],
        ] {
            assert!(r.python_dumps_needed(&types, &values).is_empty(), "{values:?}");
        }
        let all = vec![(1, oid::JSON, oid::JSON), (2, oid::JSON_ARRAY, oid::JSON)];
        for values in [
            vec![P::Int(1), P::Dict(vec![]), P::None],
            vec![P::Int(1), P::List(vec![P::Int(1)]), P::None],
            vec![P::Int(1), P::List(vec![P::Str("a")]), P::None],
            vec![P::Int(1), P::None, P::List(vec![P::List(vec![P::None, P::Bool(true)])])],
        ] {
            assert_eq!(r.python_dumps_needed(&types, &values), all, "{values:?}");
        }
    }
}
