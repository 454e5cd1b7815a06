//! Versioned plugin state. Every state a VoiRS plugin saves carries a `schema` field; on load,
//! `filter_state` brings older schemas forward step by step, and replaces values that cannot be
//! valid (non-finite numbers, wrong types) with the parameter's default, logging why. A state
//! from a newer build loads what this build understands and says so. Nothing here panics.

use nice_plug::plugin::{ParamValue, PluginState};
use nice_plug::{nice_log, nice_warn};

/// The persisted-field key that holds the state schema number.
pub const SCHEMA_FIELD: &str = "schema";

/// One step forward: rewrites a state of schema `from` into schema `from + 1`.
pub struct Migration {
    pub from: u32,
    pub apply: fn(&mut PluginState),
}

/// What loading did to a state, for logs and tests.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub from_schema: u32,
    pub migrated_steps: u32,
    pub dropped: Vec<String>,
    pub newer_than_this_build: bool,
}

/// The schema a state says it has. States saved before the schema field existed are schema 0.
pub fn schema_of(state: &PluginState) -> Result<u32, String> {
    match state.fields.get(SCHEMA_FIELD) {
        None => Ok(0),
        Some(json) => serde_json::from_str::<u32>(json).map_err(|e| format!("schema field {json:?}: {e}")),
    }
}

/// Brings `state` to `current`, sanitising values. Call from `Plugin::filter_state`.
pub fn migrate(state: &mut PluginState, current: u32, migrations: &[Migration]) -> Report {
    let mut report = Report::default();
    let mut schema = match schema_of(state) {
        Ok(s) => s,
        Err(reason) => {
            nice_warn!("state has an unreadable schema ({reason}); loading it as schema {current}");
            report.dropped.push(SCHEMA_FIELD.to_owned());
            current
        }
    };
    report.from_schema = schema;
    while schema < current {
        match migrations.iter().find(|m| m.from == schema) {
            Some(m) => {
                (m.apply)(state);
                report.migrated_steps += 1;
            }
            None => nice_warn!("no migration from state schema {schema}; keeping its values as they are"),
        }
        schema += 1;
    }
    if schema > current {
        report.newer_than_this_build = true;
        nice_warn!("state was saved by a newer build (schema {schema}, this build reads {current}); unknown values are ignored");
    }
    // Non-finite numbers are never valid parameter values: drop them so the default stays.
    let bad: Vec<String> = state
        .params
        .iter()
        .filter(|(_, v)| matches!(v, ParamValue::F32(x) if !x.is_finite()))
        .map(|(k, _)| k.clone())
        .collect();
    for k in bad {
        nice_warn!("state value for parameter {k:?} is not a finite number; using the default");
        state.params.remove(&k);
        report.dropped.push(k);
    }
    state.fields.insert(SCHEMA_FIELD.to_owned(), current.to_string());
    if report.migrated_steps > 0 {
        nice_log!("migrated plugin state from schema {} to {current}", report.from_schema);
    }
    report
}

/// Migration helper: renames a parameter id, keeping its value.
pub fn rename_param(state: &mut PluginState, old: &str, new: &str) {
    if let Some(v) = state.params.remove(old) {
        state.params.insert(new.to_owned(), v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn state(params: &[(&str, ParamValue)], fields: &[(&str, &str)]) -> PluginState {
        PluginState {
            version: String::new(),
            params: params.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<BTreeMap<_, _>>(),
            fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    const STEPS: &[Migration] = &[
        Migration { from: 0, apply: |s| rename_param(s, "gain", "out_gain") },
        Migration { from: 1, apply: |s| rename_param(s, "atk", "attack") },
    ];

    #[test]
    fn an_unversioned_state_migrates_through_every_step() {
        let mut s = state(&[("gain", ParamValue::F32(0.5)), ("atk", ParamValue::F32(3.0))], &[]);
        let r = migrate(&mut s, 2, STEPS);
        assert_eq!(r.from_schema, 0);
        assert_eq!(r.migrated_steps, 2);
        assert!(matches!(s.params["out_gain"], ParamValue::F32(v) if v == 0.5));
        assert!(matches!(s.params["attack"], ParamValue::F32(v) if v == 3.0));
        assert_eq!(s.fields[SCHEMA_FIELD], "2");
    }

    #[test]
    fn non_finite_values_and_bad_schema_are_dropped_not_fatal() {
        let mut s = state(&[("out_gain", ParamValue::F32(f32::NAN))], &[(SCHEMA_FIELD, "\"banana\"")]);
        let r = migrate(&mut s, 2, STEPS);
        assert!(s.params.is_empty());
        assert_eq!(r.dropped, vec![SCHEMA_FIELD.to_owned(), "out_gain".to_owned()]);
    }

    #[test]
    fn a_newer_state_is_flagged() {
        let mut s = state(&[], &[(SCHEMA_FIELD, "7")]);
        assert!(migrate(&mut s, 2, STEPS).newer_than_this_build);
    }
}
