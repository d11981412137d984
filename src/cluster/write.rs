//! The one write path: every store mutation goes through `write` (or its in-place forms),
//! which bumps the revision, stamps the resourceVersion, logs an `ObjectWritten` event, keeps
//! the watch history and notifies the kind's observers; the event log itself; the server-set
//! metadata (UIDs, generated names) drawn from the cluster's one RNG.

use std::borrow::Cow;
use std::sync::Arc;

use rand_core::RngCore;

use crate::cluster::event_log::KeyTexts;
use crate::cluster::pod_facts::FactsBeforeChange;
use crate::cluster::{Cluster, EventKind, Origin, StoredKind, WriteVerb, history};
use crate::error::ApiError;
use crate::model::{ObjectKey, Pod, PodDisruptionBudget, Resource, ResourceVersion, SmolStr, Uid};

/// An object changed in place, its write not yet recorded.
struct ChangedInPlace<T> {
    /// Its resourceVersion (the next revision).
    revision: SmolStr,
    /// The object as stored now and the version before, when the watch history keeps
    /// versions (and only then: a handle held for nothing moves a reference count twice).
    kept: Option<(Arc<T>, Arc<T>)>,
}

/// Applies `change` to the status of the object in `slot` in place, stamping `revision`
/// when it changed something; `None` when it did not. With `keep_history`, the version
/// before is kept for the watch history, so the change is made to a copy.
fn change_status_in_place<T: StoredKind>(
    slot: &mut Arc<T>,
    revision: u64,
    keep_history: bool,
    change: impl FnOnce(&mut T) -> bool,
) -> Option<ChangedInPlace<T>> {
    let previous = keep_history.then(|| Arc::clone(slot));
    #[cfg(debug_assertions)]
    let before = T::clone(slot);
    let object = Arc::make_mut(slot);
    let changed = change(object);
    #[cfg(debug_assertions)]
    {
        debug_assert_eq!(changed, *object != before, "the change says what it did");
        debug_assert!(
            object.metadata() == before.metadata() && !object.spec_differs(&before),
            "a status change leaves metadata and spec alone"
        );
    }
    if !changed {
        return None;
    }
    let revision = revision_text(revision);
    object.metadata_mut().resource_version = ResourceVersion(revision.clone());
    Some(ChangedInPlace {
        revision,
        kept: previous.map(|previous| (Arc::clone(slot), previous)),
    })
}

/// A copy of the key `stored` under which a writer found the object it was handed `key`
/// for, to name the object in the event log, the indexes and the work queues, which share the
/// stored key's texts: `key` itself when it is already such a copy (a popped or remembered
/// key), so that no reference count moves for it.
fn stored_copy<'a>(key: &'a ObjectKey, stored: &ObjectKey) -> Cow<'a, ObjectKey> {
    if key.shares_texts(stored) {
        Cow::Borrowed(key)
    } else {
        Cow::Owned(stored.clone())
    }
}

/// A revision as the API writes it: decimal text, short enough to live inline (no
/// allocation), formatted without the formatting machinery.
fn revision_text(revision: u64) -> SmolStr {
    // At most 20 digits, always inline: `new_inline` copies them without `new`'s search for
    // a whitespace-only text (every write makes one).
    SmolStr::new_inline(itoa::Buffer::new().format(revision))
}

const NAME_SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The five random characters the API server appends to a `generateName`.
pub(crate) struct NameSuffix([u8; 5]);

impl NameSuffix {
    pub(crate) fn as_str(&self) -> &str {
        // Always ASCII, from the alphabet above.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl Cluster {
    /// Logs `kind` now. It borrows the keys it names: the log copies their text.
    pub(crate) fn log<K: KeyTexts>(&mut self, kind: EventKind<K>) {
        self.events
            .push(self.now, &kind, self.config.event_retention);
    }

    /// Logs `kind` as if it had been logged when the log held `seq` events: it takes that
    /// sequence number and the events after it move up by one.
    pub(crate) fn log_before<K: KeyTexts>(&mut self, seq: u64, kind: EventKind<K>) {
        self.events
            .insert_before(seq, self.now, &kind, self.config.event_retention);
    }

    pub(crate) fn record(
        &mut self,
        event_type: &'static str,
        involved: String,
        reason: &'static str,
        message: String,
    ) {
        self.log(EventKind::<&ObjectKey>::Recorded {
            event_type,
            involved,
            reason,
            message,
        });
    }

    /// Stores `new` at `key` (or removes the object), bumping the revision unless the write
    /// changes nothing (E31: the store skips identical updates). Returns the stored object.
    pub(crate) fn write<T: StoredKind>(
        &mut self,
        key: ObjectKey,
        new: Option<T>,
        origin: Origin,
    ) -> Option<Arc<T>> {
        let old: Option<Arc<T>> = T::store(self).shared_at(&key).cloned();
        self.write_over(key, old, new, origin)
    }

    /// [`Cluster::write`] of an object at a key the caller has just found vacant (a
    /// create): nothing to look up as the old version.
    pub(crate) fn write_created<T: StoredKind>(
        &mut self,
        key: ObjectKey,
        new: T,
        origin: Origin,
    ) -> Option<Arc<T>> {
        debug_assert!(T::store(self).shared_at(&key).is_none(), "{key} is vacant");
        self.write_over(key, None, Some(new), origin)
    }

    /// [`Cluster::write`] once the stored version, `old`, is in hand.
    fn write_over<T: StoredKind>(
        &mut self,
        key: ObjectKey,
        old: Option<Arc<T>>,
        new: Option<T>,
        origin: Origin,
    ) -> Option<Arc<T>> {
        if T::KIND != Pod::KIND {
            self.controllers_version += 1;
        }
        match new {
            Some(mut object) => {
                let before = old.as_deref();
                let meta = object.metadata_mut();
                let parts = &mut self.shared_parts;
                parts.share_map(&mut meta.labels, before.map(|o| &o.metadata().labels));
                parts.share_map(
                    &mut meta.annotations,
                    before.map(|o| &o.metadata().annotations),
                );
                parts.share_owners(
                    &mut meta.owner_references,
                    before.map(|o| &o.metadata().owner_references),
                );
                if let Some(spec) = object.common_spec_mut() {
                    parts.share_spec(spec, before.and_then(T::common_spec));
                }
                if let Some(selector) = object.selector_labels_mut() {
                    parts.share_map(selector, before.and_then(T::selector_labels));
                }
                if let Some(conditions) = object.common_conditions_mut() {
                    parts.share_conditions(conditions, before.and_then(T::common_conditions));
                }
                if let Some(old) = &old {
                    object.metadata_mut().resource_version =
                        old.metadata().resource_version.clone();
                    if **old == object {
                        return Some(Arc::clone(old));
                    }
                }
                self.revision += 1;
                let revision = revision_text(self.revision);
                object.metadata_mut().resource_version = ResourceVersion(revision.clone());
                let object = Arc::new(object);
                // From here on the key as stored, whose text the indexes and the log share.
                // An update finds the stored entry where the look-up of `old` just did.
                let store = T::store_mut(self);
                let updated = match old {
                    Some(_) => store.entry_mut(&key).map(|(stored_key, slot)| {
                        *slot = Arc::clone(&object);
                        stored_key.clone()
                    }),
                    None => None,
                };
                let key = match updated {
                    Some(stored_key) => stored_key,
                    None => store.insert(key, Arc::clone(&object)).1,
                };
                let verb = if old.is_some() {
                    WriteVerb::Updated
                } else {
                    WriteVerb::Created
                };
                self.record_write(verb, T::KIND, &key, revision, || {
                    let previous = old.clone().map(|o| o as Arc<dyn history::WatchedObject>);
                    Some((
                        Arc::clone(&object) as Arc<dyn history::WatchedObject>,
                        previous,
                    ))
                });
                T::observe(self, &key, old.as_deref(), Some(&object), origin);
                Some(object)
            }
            None => {
                let removed = T::store_mut(self).remove(&key)?;
                self.revision += 1;
                let revision = self.revision;
                let last_version = removed.metadata().resource_version.0.clone();
                self.record_write(WriteVerb::Deleted, T::KIND, &key, last_version, || {
                    // The watch sends the last state, stamped with the deletion's revision.
                    let mut last = T::clone(&removed);
                    last.metadata_mut().resource_version = ResourceVersion(revision_text(revision));
                    Some((Arc::new(last) as Arc<dyn history::WatchedObject>, None))
                });
                T::observe(self, &key, Some(&removed), None, origin);
                None
            }
        }
    }

    /// Changes the stored pod at `key` in place: the same write as [`Cluster::write`] of a
    /// changed copy (a new resourceVersion, the event, the reactions), without copying the
    /// pod to change it and freeing the old version after. `change` edits the pod and says
    /// whether it changed anything: a change of nothing is no write (no resourceVersion, no
    /// event, no reaction), as [`Cluster::write`] finds by comparing. It must leave the parts
    /// written objects share alone (labels, annotations, the spec's unmodeled fields). The
    /// observers compare the pod with what it was filed by before ([`FactsBeforeChange`]),
    /// which is all they read of an old version. Nor may it change the pod's uid or
    /// controller reference: no in-place writer does (debug builds check all of this).
    /// Returns the stored pod, `None` when there is none.
    pub(crate) fn write_pod_in_place(
        &mut self,
        key: &ObjectKey,
        origin: Origin,
        change: impl FnOnce(&mut Pod) -> bool,
    ) -> Option<Arc<Pod>> {
        let keep_history = self.watch_history.is_enabled();
        let (stored_key, slot) = self.pods.entry_mut(key)?;
        let stored_key = stored_copy(key, stored_key);
        let old = FactsBeforeChange::of(slot);
        // A watch keeps the versions it was sent: with the history on, the stored pod is
        // shared, and `make_mut` changes a copy.
        let previous = keep_history.then(|| Arc::clone(slot));
        #[cfg(debug_assertions)]
        let before = Pod::clone(slot);
        let pod = Arc::make_mut(slot);
        let conditions_before = pod.status.conditions.address();
        let changed = change(pod);
        #[cfg(debug_assertions)]
        {
            debug_assert_eq!(
                changed,
                *pod != before,
                "{key}: the change says what it did"
            );
            debug_assert!(
                pod.metadata.labels == before.metadata.labels
                    && pod.metadata.annotations == before.metadata.annotations
                    && pod.spec.unmodeled == before.spec.unmodeled,
                "{key}: an in-place change leaves the shared parts alone"
            );
            debug_assert!(
                FactsBeforeChange::unchanged_parts_kept(&before, pod),
                "{key}: an in-place change leaves the uid and controller alone"
            );
        }
        if !changed {
            return Some(Arc::clone(slot));
        }
        // The stored conditions are the shared table's copy, which a change copies first: a
        // list at another address is a changed one, to be looked up.
        if pod.status.conditions.address() != conditions_before {
            self.shared_parts
                .share_conditions(&mut pod.status.conditions, None);
        }
        self.revision += 1;
        let revision = revision_text(self.revision);
        pod.metadata.resource_version = ResourceVersion(revision.clone());
        let object = Arc::clone(slot);
        self.record_write(WriteVerb::Updated, Pod::KIND, &stored_key, revision, || {
            let previous = previous.map(|o| o as Arc<dyn history::WatchedObject>);
            Some((
                Arc::clone(&object) as Arc<dyn history::WatchedObject>,
                previous,
            ))
        });
        self.observe_pod(&stored_key, Some(&old.view(&object)), Some(&object), origin);
        Some(object)
    }

    /// Changes the status of the stored object at `key` in place and records the write: the
    /// same write as [`Cluster::write`] of a copy with the new status, without copying the
    /// object to change it and freeing the old version after. `change` edits the object and
    /// says whether it changed anything: a change of nothing is no write. It runs no
    /// reactions (the caller runs what a status write needs), and an index that shares the
    /// stored object must have let go of it first, or the change is made to a copy.
    pub(crate) fn write_status_in_place<T: StoredKind>(
        &mut self,
        key: &ObjectKey,
        change: impl FnOnce(&mut T) -> bool,
    ) {
        let keep_history = self.watch_history.is_enabled();
        let revision = self.revision + 1;
        let Some((stored_key, slot)) = T::store_mut(self).entry_mut(key) else {
            return;
        };
        let Some(changed) = change_status_in_place(slot, revision, keep_history, change) else {
            return;
        };
        let stored_key = stored_copy(key, stored_key);
        self.record_write_in_place(&stored_key, changed);
    }

    /// A write of a PDB's status alone by `origin` (`change` edits it and says whether it
    /// changed anything), in place: the PDB index lets go of the stored budget while it
    /// changes, so that a caller that holds no handle either has it changed where it is (a
    /// watch history holding the version before makes it a copy). The index files the
    /// budget by its selector, which stays. The one reaction is C2's re-sync of the budget,
    /// for every writer but the disruption controller, whose re-sync would compute the same
    /// status.
    pub(crate) fn write_pdb_status(
        &mut self,
        key: &ObjectKey,
        origin: Origin,
        change: impl FnOnce(&mut crate::model::PodDisruptionBudgetStatus) -> bool,
    ) {
        static NONE_HELD: std::sync::OnceLock<Arc<PodDisruptionBudget>> =
            std::sync::OnceLock::new();
        let keep_history = self.watch_history.is_enabled();
        let revision = self.revision + 1;
        let mut indexed = self.pdb_index.shared_pdb_mut(key);
        let Some((stored_key, slot)) = self.pdbs.entry_mut(key) else {
            return;
        };
        if let Some(indexed) = indexed.as_deref_mut() {
            *indexed = Arc::clone(NONE_HELD.get_or_init(Default::default));
        }
        let changed = change_status_in_place(
            slot,
            revision,
            keep_history,
            |pdb: &mut PodDisruptionBudget| change(&mut pdb.status),
        );
        if let Some(indexed) = indexed {
            *indexed = Arc::clone(slot);
        }
        let Some(changed) = changed else {
            return;
        };
        let stored_key = stored_copy(key, stored_key);
        self.record_write_in_place(&stored_key, changed);
        if self.config.controllers.disruption && origin != Origin::DisruptionController {
            self.disruption_queue.insert(stored_key.into_owned());
        }
    }

    /// Records a write made by [`change_status_in_place`].
    fn record_write_in_place<T: StoredKind>(
        &mut self,
        stored_key: &ObjectKey,
        changed: ChangedInPlace<T>,
    ) {
        let ChangedInPlace { revision, kept } = changed;
        self.revision += 1;
        self.record_write(WriteVerb::Updated, T::KIND, stored_key, revision, || {
            kept.map(|(object, previous)| {
                (
                    object as Arc<dyn history::WatchedObject>,
                    Some(previous as Arc<dyn history::WatchedObject>),
                )
            })
        });
    }

    /// Records the write at the current revision: in the watch history, when one is kept,
    /// with the versions `watched` gives (the object as written and the one before), and as an
    /// `ObjectWritten` event.
    fn record_write(
        &mut self,
        verb: WriteVerb,
        kind: &'static str,
        key: &ObjectKey,
        resource_version: SmolStr,
        watched: impl FnOnce() -> Option<(
            Arc<dyn history::WatchedObject>,
            Option<Arc<dyn history::WatchedObject>>,
        )>,
    ) {
        match self.watch_history.is_enabled().then(watched).flatten() {
            Some((object, previous)) => self.watch_history.record(history::HistoryEntry {
                revision: self.revision,
                verb,
                object,
                previous,
            }),
            None => self.watch_history.record_unkept(self.revision),
        }
        let written = super::event_log::Written {
            verb,
            kind,
            key,
            resource_version: &resource_version,
        };
        self.events
            .push_written(self.now, written, self.config.event_retention);
    }

    pub(crate) fn new_uid(&mut self) -> Uid {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        Uid::from_random_bytes(bytes)
    }

    /// Fills the metadata the API server sets on create, for objects controllers create.
    pub(crate) fn fill_server_metadata(&mut self, meta: &mut crate::model::ObjectMeta) {
        if meta.uid.is_empty() {
            meta.uid = self.new_uid();
        }
        if meta.creation_timestamp.is_none() {
            meta.creation_timestamp = Some(self.wall_now());
        }
    }

    pub(crate) fn name_suffix(&mut self) -> NameSuffix {
        NameSuffix(std::array::from_fn(|_| {
            let i = (self.rng.next_u32() as usize) % NAME_SUFFIX_ALPHABET.len();
            NAME_SUFFIX_ALPHABET[i]
        }))
    }

    /// Refuses a create once the store holds [`ClusterConfig::max_objects`] objects.
    pub(crate) fn check_room(&self) -> Result<(), ApiError> {
        if self.object_count() >= self.config.max_objects {
            return Err(ApiError::StoreFull {
                max_objects: self.config.max_objects,
            });
        }
        Ok(())
    }
}
