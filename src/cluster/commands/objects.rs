//! The object commands: create, update, delete, load and restore, for every stored kind, and
//! the pod DELETE's in-place path (the six steps' first).

use std::sync::Arc;

use crate::cluster::deletion::{self, DeletePlan};
use crate::cluster::{
    Cluster, DeleteResult, Deleter, Disruption, EventKind, KubernetesVersion, Origin, StoredKind,
    Subresource,
};
use crate::error::{ApiError, FieldError};
use crate::model::{
    DeleteOptions, ObjectKey, Pod, Resource, SmolStr, validate_delete_options,
    validate_object_meta, validate_object_meta_except,
};
use crate::time::SimTime;

impl Cluster {
    fn invalid<T: Resource>(name: &str, errors: Vec<FieldError>) -> ApiError {
        ApiError::Invalid {
            kind: T::KIND,
            group: T::GROUP,
            name: name.into(),
            errors,
        }
    }

    /// Creates an object through the API's create path: server-set metadata assigned,
    /// status reset by the kind's create strategy, defaults applied, validated.
    ///
    /// # Errors
    /// 422 `Invalid`, 409 `AlreadyExists`.
    pub fn create<T: StoredKind>(
        &mut self,
        now: SimTime,
        object: T,
        dry_run: bool,
    ) -> Result<T, ApiError> {
        self.advance_to(now);
        // The store keeps its handle: the caller gets a copy.
        let result = self
            .create_inner(object, dry_run, false)
            .map(Arc::unwrap_or_clone);
        self.settle();
        result
    }

    /// Creates an object as a scenario's `objects` list does: like [`Cluster::create`], but
    /// the status is kept exactly as given and server-set metadata that is present (uid,
    /// resourceVersion, creationTimestamp, generation, deletion fields) is kept.
    ///
    /// # Errors
    /// 422 `Invalid`, 409 `AlreadyExists`.
    pub fn load<T: StoredKind>(&mut self, now: SimTime, object: T) -> Result<T, ApiError> {
        self.advance_to(now);
        let result = self
            .create_inner(object, false, true)
            .map(Arc::unwrap_or_clone);
        self.settle();
        result
    }

    /// Imports an object exactly as given, without defaulting or validation: for state that
    /// only old or broken clusters reach (an invalid selector stored before validation
    /// tightened, a negative `disruptionsAllowed`). Server-set metadata that is missing is
    /// filled in. Controllers react as to any create.
    ///
    /// # Errors
    /// 409 `AlreadyExists`.
    pub fn restore<T: StoredKind>(&mut self, now: SimTime, mut object: T) -> Result<T, ApiError> {
        self.advance_to(now);
        let key = object.metadata().key();
        if T::store(self).get(&key).is_some() {
            return Err(ApiError::AlreadyExists {
                resource: T::qualified_resource(),
                name: key.name.to_string(),
            });
        }
        self.check_room()?;
        if object.metadata().uid.is_empty() {
            object.metadata_mut().uid = self.new_uid();
        }
        if object.metadata().creation_timestamp.is_none() {
            object.metadata_mut().creation_timestamp = Some(self.wall_now());
        }
        let stored = self
            .write(key, Some(object), Origin::Api)
            .map(Arc::unwrap_or_clone);
        self.settle();
        stored.ok_or_else(|| ApiError::Internal("write returned nothing".into()))
    }

    /// Holds every controller reaction until [`Cluster::resume_reactions`]: for loading a
    /// snapshot whose objects only make sense together (a ReplicaSet and its pods), so that
    /// no controller acts on a half-loaded cluster.
    pub fn defer_reactions(&mut self) {
        self.deferring = true;
    }

    /// Lets the controllers react, at `now`, to everything written since
    /// [`Cluster::defer_reactions`].
    pub fn resume_reactions(&mut self, now: SimTime) {
        self.deferring = false;
        self.advance_to(now);
        self.settle();
    }

    /// Has the disruption controller sync the PDB at `key` now, as its periodic resync does
    /// (scaling a workload does not by itself re-sync a PDB upstream, C1).
    pub fn resync_pdb(&mut self, now: SimTime, key: &ObjectKey) {
        self.advance_to(now);
        if self.config.controllers.disruption {
            self.disruption_queue.insert(key.clone());
        }
        self.settle();
    }

    pub(crate) fn create_inner<T: StoredKind>(
        &mut self,
        mut object: T,
        dry_run: bool,
        keep_server_fields: bool,
    ) -> Result<Arc<T>, ApiError> {
        let now = self.wall_now();
        let version = self.config.kubernetes_version;
        {
            let meta = object.metadata_mut();
            if !T::NAMESPACED {
                // Cluster-scoped: a namespace in the body is ignored, as upstream clears it.
                meta.namespace = SmolStr::default();
            }
        }
        let generated =
            object.metadata().name.is_empty() && !object.metadata().generate_name.is_empty();
        let mut vacant = None;
        if generated {
            // RetryGenerateName (beta and on from 1.31, GA in 1.32): a generated name that is
            // taken is generated again, up to 8 attempts in all; 1.30 tries once.
            let attempts = if version >= KubernetesVersion::V1_31 {
                8
            } else {
                1
            };
            let mut name = SmolStr::default();
            for _ in 0..attempts {
                let suffix = self.name_suffix();
                let meta = object.metadata();
                name = SmolStr::from_iter([meta.generate_name.as_str(), suffix.as_str()]);
                // The key found free is the one stored under: the name is not looked up
                // again below (a workload's every replacement pod is made so).
                vacant = T::store(self).vacant_key(&meta.namespace, &name);
                if vacant.is_some() {
                    break;
                }
            }
            object.metadata_mut().name = name;
        }
        if !keep_server_fields {
            object.reset_status_for_create();
        }
        let uid = self.new_uid();
        let meta = object.metadata_mut();
        if !keep_server_fields || meta.uid.is_empty() {
            meta.uid = uid;
        }
        if !keep_server_fields || meta.creation_timestamp.is_none() {
            meta.creation_timestamp = Some(now);
        }
        if !keep_server_fields {
            meta.deletion_timestamp = None;
            meta.deletion_grace_period_seconds = None;
            meta.generation = 0;
        }
        if T::tracks_generation(version) && meta.generation == 0 {
            meta.generation = 1;
        }
        let given_rv = keep_server_fields
            .then(|| meta.resource_version.clone())
            .filter(|rv| !rv.0.is_empty());
        object.apply_defaults();
        let known = self.shared_parts.known_valid(object.metadata());
        let mut errors = validate_object_meta_except(object.metadata(), T::NAMESPACED, known);
        if let Some(rv) = &given_rv {
            errors.extend(crate::model::validate_loaded_resource_version(rv));
        }
        errors.extend(object.validate_spec());
        if !errors.is_empty() {
            return Err(Self::invalid::<T>(&object.metadata().name, errors));
        }
        self.shared_parts.remember_valid(object.metadata());
        let meta = object.metadata();
        let Some(key) = vacant.or_else(|| T::store(self).vacant_key(&meta.namespace, &meta.name))
        else {
            let name = meta.name.to_string();
            return Err(if generated {
                ApiError::GenerateNameConflict {
                    resource: T::qualified_resource(),
                    name,
                }
            } else {
                ApiError::AlreadyExists {
                    resource: T::qualified_resource(),
                    name,
                }
            });
        };
        self.check_room()?;
        if dry_run {
            return Ok(Arc::new(object));
        }
        // The key is kept only to store again under it (a given resourceVersion): a copy
        // moves two reference counts up and down.
        let kept_key = given_rv.is_some().then(|| key.clone());
        let stored = self
            .write_created(key, object, Origin::Api)
            .ok_or_else(|| ApiError::Internal("write returned nothing".into()))?;
        if let (Some(rv), Some(key)) = (given_rv, kept_key) {
            // Scenario objects keep a given resourceVersion; later writes still advance.
            // It was checked to be at most i64::MAX, so the revision cannot overflow.
            if let Ok(n) = rv.0.parse::<u64>() {
                self.revision = self.revision.max(n);
            }
            let mut fixed = T::clone(&stored);
            fixed.metadata_mut().resource_version = rv;
            let fixed = Arc::new(fixed);
            T::store_mut(self).insert(key, Arc::clone(&fixed));
            T::replaced_in_place(self, &fixed);
            return Ok(fixed);
        }
        Ok(stored)
    }

    /// Replaces an object through PUT (main resource or `status` subresource).
    ///
    /// # Errors
    /// 404, 409 `Conflict` (stale resourceVersion), 422 `Invalid`.
    pub fn update<T: StoredKind>(
        &mut self,
        now: SimTime,
        object: T,
        subresource: Subresource,
        dry_run: bool,
    ) -> Result<T, ApiError> {
        self.advance_to(now);
        let result = self.update_inner(object, subresource, dry_run);
        self.settle();
        result
    }

    pub(crate) fn update_inner<T: StoredKind>(
        &mut self,
        object: T,
        subresource: Subresource,
        dry_run: bool,
    ) -> Result<T, ApiError> {
        let key = object.metadata().key();
        let Some(existing) = T::store(self).get(&key).cloned() else {
            return Err(ApiError::not_found(&T::qualified_resource(), &key.name));
        };
        let conflict = |message: String| ApiError::Conflict {
            qualified: T::qualified_resource(),
            group: T::GROUP,
            kind: T::PLURAL,
            name: key.name.to_string(),
            message,
        };
        let given = object.metadata();
        if !given.resource_version.0.is_empty()
            && given.resource_version != existing.metadata().resource_version
        {
            return Err(conflict("the object has been modified; please apply your changes to the latest version and try again".into()));
        }
        if !given.uid.is_empty() && given.uid != existing.metadata().uid {
            return Err(conflict(format!(
                "Precondition failed: UID in precondition: {}, UID in object meta: {}",
                given.uid,
                existing.metadata().uid
            )));
        }
        let mut updated = object;
        let version = self.config.kubernetes_version;
        match subresource {
            Subresource::Main => {
                if T::HAS_STATUS {
                    updated.take_status(&existing);
                }
                let old = existing.metadata();
                let generation = if T::tracks_generation(version) && updated.spec_differs(&existing)
                {
                    old.generation.saturating_add(1)
                } else {
                    old.generation
                };
                let meta = updated.metadata_mut();
                meta.uid = old.uid.clone();
                meta.creation_timestamp = old.creation_timestamp;
                meta.deletion_timestamp = old.deletion_timestamp;
                if meta.deletion_grace_period_seconds.is_none() || old.deletion_timestamp.is_some()
                {
                    meta.deletion_grace_period_seconds = old.deletion_grace_period_seconds;
                }
                meta.generation = generation;
                meta.generate_name = if meta.generate_name.is_empty() {
                    old.generate_name.clone()
                } else {
                    meta.generate_name.clone()
                };
                updated.apply_defaults();
                let mut errors = validate_object_meta(updated.metadata(), T::NAMESPACED);
                errors.extend(updated.validate_spec());
                errors.extend(updated.validate_update(&existing));
                if !errors.is_empty() {
                    return Err(Self::invalid::<T>(&key.name, errors));
                }
            }
            Subresource::Status => {
                updated.take_spec(&existing);
                *updated.metadata_mut() = existing.metadata().clone();
                let errors = updated.validate_status();
                if !errors.is_empty() {
                    return Err(Self::invalid::<T>(&key.name, errors));
                }
            }
        }
        // G11: an update that clears the last finalizer of an object whose deletion is due
        // (grace 0 or none) deletes it.
        let meta = updated.metadata();
        let remove = meta.deletion_timestamp.is_some()
            && meta.finalizers.is_empty()
            && meta.deletion_grace_period_seconds.unwrap_or(0) == 0;
        if dry_run {
            return Ok(updated);
        }
        if remove {
            self.write::<T>(key, None, Origin::Api);
            return Ok(updated);
        }
        self.write(key, Some(updated), Origin::Api)
            .map(Arc::unwrap_or_clone)
            .ok_or_else(|| ApiError::Internal("write returned nothing".into()))
    }

    /// DELETE of the object of kind `T` at `key` (graceful for pods: G1–G14).
    ///
    /// # Errors
    /// 422 for invalid options (G3), 404, 409 for failed preconditions (G4).
    pub fn delete<T: StoredKind>(
        &mut self,
        now: SimTime,
        key: &ObjectKey,
        options: &DeleteOptions,
    ) -> Result<DeleteResult<T>, ApiError> {
        self.advance_to(now);
        let healthy_labels = (T::KIND == "Pod" && !options.is_dry_run())
            .then(|| self.healthy_pod_labels(key))
            .flatten();
        let result = self.delete_inner(key, options, Deleter::Client);
        if let (Ok(_), Some(labels)) = (&result, healthy_labels) {
            self.check_budgets_after(key, &labels, Disruption::Delete);
        }
        self.settle();
        result
    }

    /// A DELETE by `deleter`, its options not checked yet.
    pub(crate) fn delete_inner<T: StoredKind>(
        &mut self,
        key: &ObjectKey,
        options: &DeleteOptions,
        deleter: Deleter,
    ) -> Result<DeleteResult<T>, ApiError> {
        check_delete_options(options)?;
        if let Some(result) = T::delete_in_place(self, key, options, deleter) {
            return result;
        }
        let log_steps = deleter.logs_steps();
        let Some(existing) = T::store(self).shared_at(key).cloned() else {
            return Err(ApiError::not_found(&T::qualified_resource(), &key.name));
        };
        let plan = T::plan_delete(
            &existing,
            options,
            self.wall_now(),
            self.config.kubernetes_version,
        )?;
        let dry_run = options.is_dry_run();
        match plan {
            DeletePlan::Pending => Ok(DeleteResult {
                object: existing,
                removed: false,
            }),
            DeletePlan::Write { updated, shortened } => {
                if dry_run {
                    return Ok(DeleteResult {
                        object: Arc::new(updated),
                        removed: false,
                    });
                }
                let stored = self
                    .write(key.clone(), Some(updated), Origin::Api)
                    .ok_or_else(|| ApiError::Internal("write returned nothing".into()))?;
                if log_steps {
                    self.log_deletion_step::<T>(key, stored.metadata(), shortened);
                }
                Ok(DeleteResult {
                    object: stored,
                    removed: false,
                })
            }
            DeletePlan::Remove { stamped, shortened } => {
                let mut last = existing;
                if dry_run {
                    return Ok(DeleteResult {
                        object: stamped.map_or(last, Arc::new),
                        removed: true,
                    });
                }
                if let Some(stamped) = stamped
                    && let Some(stored) =
                        self.write(key.clone(), Some(stamped), deleter.removal_origin())
                {
                    if log_steps {
                        self.log_deletion_step::<T>(key, stored.metadata(), shortened);
                    }
                    last = stored;
                }
                self.write::<T>(key.clone(), None, deleter.removal_origin());
                Ok(DeleteResult {
                    object: last,
                    removed: true,
                })
            }
        }
    }

    /// A pod DELETE (G1–G14) as [`deletion::plan_pod_stamp`] plans it, the deletion stamp
    /// written into the stored pod in place.
    pub(crate) fn delete_pod_in_place(
        &mut self,
        key: &ObjectKey,
        options: &DeleteOptions,
        deleter: Deleter,
    ) -> Result<DeleteResult<Pod>, ApiError> {
        let log_steps = deleter.logs_steps();
        let now = self.wall_now();
        let Some(existing) = self.pods.shared_at(key) else {
            return Err(ApiError::not_found(&Pod::qualified_resource(), &key.name));
        };
        let plan =
            deletion::plan_pod_stamp(existing, options, now, self.config.kubernetes_version)?;
        let dry_run = options.is_dry_run();
        // What a dry run answers: the pod as the stamp would leave it, written nowhere.
        let stamped_copy = |stamp: deletion::DeletionStamp| {
            let mut copy = Pod::clone(existing);
            stamp.apply(&mut copy.metadata);
            Arc::new(copy)
        };
        match plan {
            DeletePlan::Pending => Ok(DeleteResult {
                object: Arc::clone(existing),
                removed: false,
            }),
            DeletePlan::Write { updated, shortened } => {
                if dry_run {
                    return Ok(DeleteResult {
                        object: stamped_copy(updated),
                        removed: false,
                    });
                }
                let stored = self
                    .write_pod_in_place(key, Origin::Api, |pod| updated.apply(&mut pod.metadata))
                    .ok_or_else(|| ApiError::Internal("write returned nothing".into()))?;
                if log_steps {
                    self.log_deletion_step::<Pod>(key, &stored.metadata, shortened);
                }
                Ok(DeleteResult {
                    object: stored,
                    removed: false,
                })
            }
            DeletePlan::Remove { stamped, shortened } => {
                if dry_run {
                    return Ok(DeleteResult {
                        object: stamped.map_or_else(|| Arc::clone(existing), stamped_copy),
                        removed: true,
                    });
                }
                let last = match stamped {
                    None => Arc::clone(existing),
                    Some(stamp) => {
                        let stored = self
                            .write_pod_in_place(key, deleter.removal_origin(), |pod| {
                                stamp.apply(&mut pod.metadata)
                            })
                            .ok_or_else(|| ApiError::Internal("write returned nothing".into()))?;
                        if log_steps {
                            self.log_deletion_step::<Pod>(key, &stored.metadata, shortened);
                        }
                        stored
                    }
                };
                self.write::<Pod>(key.clone(), None, deleter.removal_origin());
                Ok(DeleteResult {
                    object: last,
                    removed: true,
                })
            }
        }
    }

    fn log_deletion_step<T: Resource>(
        &mut self,
        key: &ObjectKey,
        meta: &crate::model::ObjectMeta,
        shortened: bool,
    ) {
        if T::KIND != "Pod" {
            return;
        }
        let (Some(ts), Some(grace)) = (meta.deletion_timestamp, meta.deletion_grace_period_seconds)
        else {
            return;
        };
        let pod = key;
        let deletion_timestamp = ts;
        self.log(if shortened {
            EventKind::GracePeriodShortened {
                pod,
                grace_period_seconds: grace,
                deletion_timestamp,
            }
        } else {
            EventKind::DeletionStarted {
                pod,
                grace_period_seconds: grace,
                deletion_timestamp,
            }
        });
    }
}

/// G3: a DELETE's options, checked before anything is read; the 422 names `DeleteOptions`
/// of `meta.k8s.io`, as upstream's `ValidateDeleteOptions` failure does.
pub(crate) fn check_delete_options(options: &DeleteOptions) -> Result<(), ApiError> {
    let errors = validate_delete_options(options);
    if errors.is_empty() {
        return Ok(());
    }
    Err(ApiError::Invalid {
        kind: "DeleteOptions",
        group: "meta.k8s.io",
        name: String::new(),
        errors,
    })
}
