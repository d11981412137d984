//! Graceful deletion at the API server (G1–G14): `podStrategy.CheckGracefulDelete`,
//! `rest.BeforeDelete` and `Store.Delete`, as one pure planning function.

use crate::cluster::KubernetesVersion;
use crate::error::ApiError;
use crate::model::{DeleteOptions, ObjectMeta, Pod, Preconditions};
use crate::time::Time;

/// What a DELETE does to a stored object.
#[derive(Debug, Clone, PartialEq)]
pub enum DeletePlan<T> {
    /// Remove the object from storage now. `stamped`, when present, is the intermediate
    /// write upstream makes first (deletionTimestamp and grace 0), which watchers see.
    Remove {
        /// The object as written just before removal, if there is such a write.
        stamped: Option<T>,
        /// Whether the intermediate write shortened a grace period already in flight.
        shortened: bool,
    },
    /// Write the object (timestamps set or shortened); it stays in storage.
    Write {
        /// The object to store.
        updated: T,
        /// Whether this shortened a grace period already in flight (G8).
        shortened: bool,
    },
    /// Deletion is already pending; nothing changes (G8).
    Pending,
}

/// G4: the precondition check `rest.BeforeDelete` makes, with the `Pod`-qualified texts.
///
/// # Errors
/// `Conflict` on a UID or resourceVersion mismatch.
pub fn check_preconditions(
    kind: &'static str,
    meta: &ObjectMeta,
    preconditions: Option<&Preconditions>,
    skip_empty_resource_version: bool,
) -> Result<(), ApiError> {
    let Some(p) = preconditions else {
        return Ok(());
    };
    let conflict = |message: String| ApiError::Conflict {
        qualified: kind.into(),
        group: "",
        kind,
        name: meta.name.to_string(),
        message,
    };
    if let Some(uid) = &p.uid
        && !(skip_empty_resource_version && uid.is_empty())
        && *uid != meta.uid
    {
        return Err(conflict(format!(
            "the UID in the precondition ({uid}) does not match the UID in record ({}). The object might have been deleted and then recreated",
            meta.uid
        )));
    }
    if let Some(rv) = &p.resource_version
        && !(skip_empty_resource_version && rv.0.is_empty())
        && *rv != meta.resource_version
    {
        return Err(conflict(format!(
            "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({}). The object might have been modified",
            meta.resource_version
        )));
    }
    Ok(())
}

/// G2 `CheckGracefulDelete`: the effective grace period of a pod not yet terminating.
pub fn effective_grace_period(pod: &Pod, requested: Option<i64>) -> i64 {
    let mut period = requested
        .or(pod.spec.termination_grace_period_seconds)
        .unwrap_or(0);
    if pod.spec.node_name.is_empty() || pod.is_terminal() {
        period = 0;
    }
    if period < 0 { 1 } else { period }
}

/// Plans a pod DELETE (G2–G11) at wall time `now`.
///
/// # Errors
/// `Conflict` for failed preconditions (G4).
pub fn plan_pod_delete(
    pod: &Pod,
    options: &DeleteOptions,
    now: Time,
    version: KubernetesVersion,
) -> Result<DeletePlan<Pod>, ApiError> {
    let stamped = |stamp: DeletionStamp| {
        let mut updated = pod.clone();
        stamp.apply(&mut updated.metadata);
        updated
    };
    Ok(match plan_pod_stamp(pod, options, now, version)? {
        DeletePlan::Pending => DeletePlan::Pending,
        DeletePlan::Write { updated, shortened } => DeletePlan::Write {
            updated: stamped(updated),
            shortened,
        },
        DeletePlan::Remove {
            stamped: stamp,
            shortened,
        } => DeletePlan::Remove {
            stamped: stamp.map(stamped),
            shortened,
        },
    })
}

/// What a pod DELETE writes into the pod's metadata: the deletion fields and the
/// generation, all that [`plan_pod_delete`] changes. Applied to the stored pod in place, it
/// spares copying the pod to change three numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DeletionStamp {
    deletion_timestamp: Option<Time>,
    deletion_grace_period_seconds: Option<i64>,
    generation: i64,
}

impl DeletionStamp {
    fn of(meta: &ObjectMeta) -> DeletionStamp {
        DeletionStamp {
            deletion_timestamp: meta.deletion_timestamp,
            deletion_grace_period_seconds: meta.deletion_grace_period_seconds,
            generation: meta.generation,
        }
    }

    /// Writes the stamp into `meta`; returns whether that changed anything.
    pub(crate) fn apply(self, meta: &mut ObjectMeta) -> bool {
        let changed = DeletionStamp::of(meta) != self;
        meta.deletion_timestamp = self.deletion_timestamp;
        meta.deletion_grace_period_seconds = self.deletion_grace_period_seconds;
        meta.generation = self.generation;
        changed
    }
}

/// [`plan_pod_delete`] with the writes as [`DeletionStamp`]s.
pub(crate) fn plan_pod_stamp(
    pod: &Pod,
    options: &DeleteOptions,
    now: Time,
    version: KubernetesVersion,
) -> Result<DeletePlan<DeletionStamp>, ApiError> {
    check_preconditions("Pod", &pod.metadata, options.preconditions.as_ref(), false)?;
    // G5.
    let requested = options
        .grace_period_seconds
        .map(|g| if g < 0 { 1 } else { g });
    let has_finalizers = !pod.metadata.finalizers.is_empty();
    let mut updated = DeletionStamp::of(&pod.metadata);
    if let Some(g) = updated.deletion_grace_period_seconds
        && g < 0
    {
        updated.deletion_grace_period_seconds = Some(1);
    }
    if let Some(deletion_timestamp) = updated.deletion_timestamp {
        // G8: already terminating.
        let stored_grace = updated.deletion_grace_period_seconds.unwrap_or(0);
        if stored_grace == 0 {
            if has_finalizers {
                // markAsDeleting: keep an earlier timestamp, grace 0.
                if now < deletion_timestamp {
                    updated.deletion_timestamp = Some(now);
                }
                updated.deletion_grace_period_seconds = Some(0);
                return Ok(DeletePlan::Write {
                    updated,
                    shortened: false,
                });
            }
            return Ok(DeletePlan::Remove {
                stamped: None,
                shortened: false,
            });
        }
        let Some(mut grace) = requested else {
            return Ok(DeletePlan::Pending);
        };
        if grace >= stored_grace {
            return Ok(DeletePlan::Pending);
        }
        let mut new_timestamp = deletion_timestamp.plus_seconds(grace - stored_grace);
        if version >= KubernetesVersion::V1_33 && new_timestamp < now {
            // G9 (V4).
            new_timestamp = now;
            if grace != 0 {
                grace = 1;
            }
        }
        updated.deletion_timestamp = Some(new_timestamp);
        updated.deletion_grace_period_seconds = Some(grace);
        if grace == 0 && !has_finalizers {
            return Ok(DeletePlan::Remove {
                stamped: Some(updated),
                shortened: true,
            });
        }
        return Ok(DeletePlan::Write {
            updated,
            shortened: true,
        });
    }
    // G6, G7.
    let grace = effective_grace_period(pod, requested);
    updated.deletion_timestamp = Some(now.plus_seconds(grace));
    updated.deletion_grace_period_seconds = Some(grace);
    if updated.generation > 0 {
        updated.generation += 1;
    }
    if grace == 0 && !has_finalizers {
        // G10: graceless — remove after the intermediate write.
        return Ok(DeletePlan::Remove {
            stamped: Some(updated),
            shortened: false,
        });
    }
    Ok(DeletePlan::Write {
        updated,
        shortened: false,
    })
}

/// Plans a DELETE of a kind without graceful deletion: removal, unless finalizers keep the
/// object (then `deletionTimestamp` = now, grace 0: `markAsDeleting`).
///
/// # Errors
/// `Conflict` for failed preconditions.
pub fn plan_plain_delete(
    kind: &'static str,
    meta: &ObjectMeta,
    options: &DeleteOptions,
    now: Time,
) -> Result<Option<ObjectMeta>, ApiError> {
    check_preconditions(kind, meta, options.preconditions.as_ref(), false)?;
    if meta.finalizers.is_empty() {
        return Ok(None);
    }
    let mut updated = meta.clone();
    if updated.deletion_timestamp.is_none_or(|t| now < t) {
        updated.deletion_timestamp = Some(now);
    }
    updated.deletion_grace_period_seconds = Some(0);
    Ok(Some(updated))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Time {
        Time::parse("2025-01-01T00:00:00Z").unwrap().plus_seconds(s)
    }

    fn running_pod(grace: Option<i64>) -> Pod {
        let mut pod = Pod::default();
        pod.metadata.name = "p".into();
        pod.spec.node_name = "n1".into();
        pod.spec.termination_grace_period_seconds = grace;
        pod.status.phase = "Running".into();
        pod
    }

    fn opts(grace: Option<i64>) -> DeleteOptions {
        DeleteOptions {
            grace_period_seconds: grace,
            ..DeleteOptions::default()
        }
    }

    /// G2, G5: the effective grace period table.
    #[test]
    fn effective_grace_g2() {
        let mut unscheduled = running_pod(Some(30));
        unscheduled.spec.node_name = Default::default();
        let mut terminal = running_pod(Some(30));
        terminal.status.phase = "Succeeded".into();
        let rows = [
            (running_pod(Some(30)), None, 30),
            (running_pod(Some(30)), Some(5), 5),
            (running_pod(None), None, 0),
            (running_pod(Some(30)), Some(-3), 1),
            (unscheduled, Some(10), 0),
            (terminal, None, 0),
        ];
        for (pod, requested, want) in rows {
            assert_eq!(
                effective_grace_period(&pod, requested),
                want,
                "{requested:?}"
            );
        }
    }

    /// G6, G10: first deletion stamps; grace 0 removes.
    #[test]
    fn first_delete_g6_g10() {
        let plan = plan_pod_delete(
            &running_pod(Some(30)),
            &opts(None),
            t(0),
            KubernetesVersion::V1_34,
        )
        .unwrap();
        let DeletePlan::Write {
            updated,
            shortened: false,
        } = plan
        else {
            panic!("{plan:?}")
        };
        assert_eq!(updated.metadata.deletion_timestamp, Some(t(30)));
        assert_eq!(updated.metadata.deletion_grace_period_seconds, Some(30));
        let plan = plan_pod_delete(
            &running_pod(Some(30)),
            &opts(Some(0)),
            t(0),
            KubernetesVersion::V1_34,
        )
        .unwrap();
        assert!(matches!(
            plan,
            DeletePlan::Remove {
                stamped: Some(_),
                ..
            }
        ));
    }

    /// G8, G9: only shortening; the 1.33 clamp.
    #[test]
    fn second_delete_g8_g9() {
        let mut pod = running_pod(Some(30));
        pod.metadata.deletion_timestamp = Some(t(30));
        pod.metadata.deletion_grace_period_seconds = Some(30);
        let v = KubernetesVersion::V1_34;
        assert_eq!(
            plan_pod_delete(&pod, &opts(None), t(10), v).unwrap(),
            DeletePlan::Pending
        );
        assert_eq!(
            plan_pod_delete(&pod, &opts(Some(60)), t(10), v).unwrap(),
            DeletePlan::Pending
        );
        let DeletePlan::Write {
            updated,
            shortened: true,
        } = plan_pod_delete(&pod, &opts(Some(20)), t(5), v).unwrap()
        else {
            panic!()
        };
        assert_eq!(updated.metadata.deletion_timestamp, Some(t(20)));
        // Shortening into the past: 1.33+ clamps to now with grace 1; 1.32 moves it back.
        let DeletePlan::Write { updated, .. } =
            plan_pod_delete(&pod, &opts(Some(5)), t(25), v).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (
                updated.metadata.deletion_timestamp,
                updated.metadata.deletion_grace_period_seconds
            ),
            (Some(t(25)), Some(1))
        );
        let DeletePlan::Write { updated, .. } =
            plan_pod_delete(&pod, &opts(Some(5)), t(25), KubernetesVersion::V1_32).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (
                updated.metadata.deletion_timestamp,
                updated.metadata.deletion_grace_period_seconds
            ),
            (Some(t(5)), Some(5))
        );
        assert!(matches!(
            plan_pod_delete(&pod, &opts(Some(0)), t(25), v).unwrap(),
            DeletePlan::Remove { .. }
        ));
    }

    /// G11: finalizers keep the object; grace 0 sets the timestamp to now.
    #[test]
    fn finalizers_g11() {
        let mut pod = running_pod(Some(30));
        pod.metadata.finalizers = vec!["x".into()];
        let DeletePlan::Write { updated, .. } =
            plan_pod_delete(&pod, &opts(Some(0)), t(3), KubernetesVersion::V1_34).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (
                updated.metadata.deletion_timestamp,
                updated.metadata.deletion_grace_period_seconds
            ),
            (Some(t(3)), Some(0))
        );
        let DeletePlan::Write { updated: again, .. } =
            plan_pod_delete(&updated, &opts(None), t(9), KubernetesVersion::V1_34).unwrap()
        else {
            panic!()
        };
        assert_eq!(again.metadata.deletion_timestamp, Some(t(3)));
    }

    /// G4: preconditions, with the `Pod`-qualified text.
    #[test]
    fn preconditions_g4() {
        let mut pod = running_pod(Some(30));
        pod.metadata.uid = crate::model::Uid::from("u1");
        let o = DeleteOptions {
            preconditions: Some(Preconditions {
                uid: Some(crate::model::Uid::from("u2")),
                resource_version: None,
            }),
            ..DeleteOptions::default()
        };
        let err = plan_pod_delete(&pod, &o, t(0), KubernetesVersion::V1_34).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Operation cannot be fulfilled on Pod \"p\": the UID in the precondition (u2) does not match the UID in record (u1). The object might have been deleted and then recreated"
        );
    }
}
