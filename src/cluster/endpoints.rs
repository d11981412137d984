//! The Endpoints and EndpointSlice controllers for Services with selectors (N1–N5): a
//! terminating pod leaves `Endpoints` at once, and stays in its EndpointSlice with
//! `ready: false, serving: <Ready>, terminating: true` until it is gone — step 3 of the six.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::{Cluster, EventKind, Origin};
use crate::model::{
    EndpointSlice, Endpoints, ObjectKey, OwnerReference, Pod, Selector, Service, SmolStr, StringMap,
};

/// The label that ties an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
/// The label naming the controller that manages an EndpointSlice.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
/// This controller's `managed-by` value (upstream's).
pub const MANAGED_BY: &str = "endpointslice-controller.k8s.io";

/// A Service's selector (`spec.selector`), if it has a non-empty one.
pub fn service_selector(service: &Service) -> Option<Selector> {
    let map: StringMap =
        serde_json::from_value(service.body.value("spec")?.get("selector")?.clone()).ok()?;
    if map.is_empty() {
        return None;
    }
    let text = map
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    Selector::parse(&text).ok()
}

fn publish_not_ready(service: &Service) -> bool {
    service
        .body
        .value("spec")
        .and_then(|s| s.get("publishNotReadyAddresses").cloned())
        .and_then(|value| value.as_bool())
        .unwrap_or(false)
}

fn pod_ip(pod: &Pod) -> Option<String> {
    pod.status.pod_ip().map(String::from)
}

fn ports(service: &Service) -> Vec<Value> {
    service
        .body
        .value("spec")
        .as_ref()
        .and_then(|s| s.get("ports"))
        .and_then(Value::as_array)
        .map(|ports| {
            ports
                .iter()
                .map(|p| {
                    let port = p
                        .get("targetPort")
                        .filter(|t| t.is_number())
                        .or_else(|| p.get("port"))
                        .cloned()
                        .unwrap_or(Value::Null);
                    let mut out = Map::new();
                    if let Some(name) = p.get("name") {
                        out.insert("name".into(), name.clone());
                    }
                    out.insert("port".into(), port);
                    out.insert(
                        "protocol".into(),
                        p.get("protocol").cloned().unwrap_or_else(|| json!("TCP")),
                    );
                    Value::Object(out)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn target_ref(pod: &Pod) -> Value {
    json!({"kind": "Pod", "namespace": pod.metadata.namespace, "name": pod.metadata.name, "uid": pod.metadata.uid})
}

fn ready_addresses(endpoints: Option<&Endpoints>) -> BTreeSet<String> {
    endpoints
        .and_then(|e| e.body.value("subsets"))
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|s| {
            s.get("addresses")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|a| {
            a.pointer("/targetRef/name")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .collect()
}

impl Cluster {
    /// The Services in `namespace` whose selectors select a pod with `labels`.
    pub(crate) fn services_selecting(&self, namespace: &str, labels: &StringMap) -> Vec<ObjectKey> {
        self.services
            .in_namespace(namespace)
            .filter(|s| service_selector(s).is_some_and(|sel| sel.matches(labels)))
            .map(|s| s.metadata.key())
            .collect()
    }

    /// Recomputes the Endpoints and the EndpointSlice of one Service (N1–N3).
    pub(crate) fn sync_endpoints(&mut self, key: &ObjectKey) {
        let Some(service) = self.services.get(key).cloned() else {
            // The Service is gone: so are its endpoints.
            if self.endpoints.get(key).is_some() {
                self.write::<Endpoints>(key.clone(), None, Origin::Endpoints);
            }
            let slices: Vec<ObjectKey> = self
                .endpoint_slices
                .in_namespace(&key.namespace)
                .filter(|s| {
                    s.metadata.labels.get(SERVICE_NAME_LABEL) == Some(&key.name.to_string())
                        && s.metadata.labels.get(MANAGED_BY_LABEL).map(String::as_str)
                            == Some(MANAGED_BY)
                })
                .map(|s| s.metadata.key())
                .collect();
            for slice in slices {
                self.write::<EndpointSlice>(slice, None, Origin::Endpoints);
            }
            return;
        };
        let Some(selector) = service_selector(&service) else {
            return; // Without a selector, endpoints are the user's (N: "for Services with selectors").
        };
        let publish = publish_not_ready(&service);
        let pods: Vec<Pod> = self
            .pods_selected(&key.namespace, &selector)
            .into_iter()
            .cloned()
            .collect();
        let ports = ports(&service);
        let mut ready: BTreeMap<String, Value> = BTreeMap::new();
        let mut not_ready: BTreeMap<String, Value> = BTreeMap::new();
        let mut slice_endpoints = Vec::new();
        for pod in &pods {
            // N1: not terminal, and has an IP.
            let Some(ip) = pod_ip(pod) else { continue };
            if pod.is_terminal() {
                continue;
            }
            let serving = pod.is_ready();
            let terminating = pod.is_terminating();
            let address =
                json!({"ip": ip, "nodeName": pod.spec.node_name, "targetRef": target_ref(pod)});
            // N3: legacy Endpoints drop terminating pods unless publishNotReadyAddresses.
            if publish {
                ready.insert(ip.clone(), address);
            } else if !terminating {
                if serving {
                    ready.insert(ip.clone(), address);
                } else {
                    not_ready.insert(ip.clone(), address);
                }
            }
            // N2: the slice keeps terminating pods, with their conditions.
            slice_endpoints.push(json!({
                "addresses": [ip],
                "conditions": {"ready": publish || (serving && !terminating), "serving": serving, "terminating": terminating},
                "nodeName": pod.spec.node_name,
                "targetRef": target_ref(pod),
            }));
        }

        let before = ready_addresses(self.endpoints.get(key));
        let mut subset = Map::new();
        if !ready.is_empty() {
            subset.insert(
                "addresses".into(),
                Value::Array(ready.into_values().collect()),
            );
        }
        if !not_ready.is_empty() {
            subset.insert(
                "notReadyAddresses".into(),
                Value::Array(not_ready.into_values().collect()),
            );
        }
        let mut endpoints = self.endpoints.get(key).cloned().unwrap_or_else(|| {
            let mut e = Endpoints::default();
            e.metadata.name = SmolStr::from(&*key.name);
            e.metadata.namespace = SmolStr::from(&*key.namespace);
            e
        });
        endpoints.metadata.labels = service.metadata.labels.clone();
        if subset.is_empty() {
            endpoints.body.remove("subsets");
        } else {
            if !ports.is_empty() {
                subset.insert("ports".into(), Value::Array(ports.clone()));
            }
            endpoints.body.insert("subsets".into(), json!([subset]));
        }
        let created = self.endpoints.get(key).is_none();
        if created {
            self.fill_server_metadata(&mut endpoints.metadata);
        }
        self.write(key.clone(), Some(endpoints), Origin::Endpoints);

        let slice_key = self
            .endpoint_slices
            .in_namespace(&key.namespace)
            .find(|s| {
                s.metadata.labels.get(SERVICE_NAME_LABEL) == Some(&key.name.to_string())
                    && s.metadata.labels.get(MANAGED_BY_LABEL).map(String::as_str)
                        == Some(MANAGED_BY)
            })
            .map(|s| s.metadata.key());
        let mut slice = match &slice_key {
            Some(k) => self.endpoint_slices.get(k).cloned().unwrap_or_default(),
            None => {
                let mut s = EndpointSlice::default();
                s.metadata.name =
                    SmolStr::from_iter([&*key.name, "-", self.name_suffix().as_str()]);
                s.metadata.namespace = SmolStr::from(&*key.namespace);
                s.metadata.generate_name = format!("{}-", key.name).into();
                s.metadata.owner_references = vec![OwnerReference {
                    api_version: "v1".into(),
                    kind: "Service".into(),
                    name: SmolStr::from(&*key.name),
                    uid: service.metadata.uid.clone(),
                    controller: Some(true),
                    block_owner_deletion: Some(true),
                }]
                .into();
                self.fill_server_metadata(&mut s.metadata);
                s
            }
        };
        let mut labels = service.metadata.labels.clone();
        labels.insert(SERVICE_NAME_LABEL.into(), key.name.to_string());
        labels.insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
        slice.metadata.labels = labels;
        slice.body.insert("addressType".into(), json!("IPv4"));
        slice
            .body
            .insert("endpoints".into(), Value::Array(slice_endpoints));
        slice.body.insert("ports".into(), Value::Array(ports));
        let slice_key = slice.metadata.key();
        self.write(slice_key, Some(slice), Origin::Endpoints);

        // Step 3, as the docs name it: terminating pods taken out of service.
        let after = ready_addresses(self.endpoints.get(key));
        for pod in pods.iter().filter(|p| {
            p.is_terminating()
                && before.contains(p.metadata.name.as_str())
                && !after.contains(p.metadata.name.as_str())
        }) {
            self.log(EventKind::EndpointRemoved {
                pod: &pod.metadata.key(),
                service: key,
            });
        }
    }
}
