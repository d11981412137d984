//! Server-side printing: the `meta.k8s.io/v1` `Table` that `kubectl get` asks for
//! (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`).
//!
//! The columns and cells follow upstream's printers (`pkg/printers/internalversion/
//! printers.go`: `printPod`, `printNode`, `printPodDisruptionBudget`, `printDeployment`, …):
//! kubectl prints the cells as given, so a terminating pod reads `Terminating` and a cordoned
//! node `Ready,SchedulingDisabled` only because the server says so. Rows carry the object's
//! metadata as `PartialObjectMetadata`, from which kubectl takes the NAMESPACE column (`-A`)
//! and `--show-labels`.

use serde_json::{Value, json};

use crate::model::Kind;
use crate::time::Time;

/// One column: name, type, and whether it shows only with `-o wide` (priority 1).
struct Column {
    name: &'static str,
    type_: &'static str,
    format: &'static str,
    description: &'static str,
    wide: bool,
}

const fn col(name: &'static str, type_: &'static str, description: &'static str) -> Column {
    Column {
        name,
        type_,
        format: "",
        description,
        wide: false,
    }
}

const fn wide(name: &'static str, type_: &'static str, description: &'static str) -> Column {
    Column {
        name,
        type_,
        format: "",
        description,
        wide: true,
    }
}

const NAME: Column = Column {
    name: "Name",
    type_: "string",
    format: "name",
    description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    wide: false,
};
const AGE: Column = col(
    "Age",
    "string",
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
);
const CONTAINERS: Column = wide(
    "Containers",
    "string",
    "Names of each container in the template.",
);
const IMAGES: Column = wide(
    "Images",
    "string",
    "Images referenced by each container in the template.",
);
const SELECTOR: Column = wide("Selector", "string", "Label selector for pods.");

fn columns(kind: Kind) -> Vec<Column> {
    match kind {
        Kind::Pod => vec![
            NAME,
            col(
                "Ready",
                "string",
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            col(
                "Status",
                "string",
                "The aggregate status of the containers in this pod.",
            ),
            col(
                "Restarts",
                "string",
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            AGE,
            wide(
                "IP",
                "string",
                "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
            ),
            wide(
                "Node",
                "string",
                "NodeName is a request to schedule this pod onto a specific node. If it is non-empty, the scheduler simply schedules this pod onto that node, assuming that it fits resource requirements.",
            ),
            wide(
                "Nominated Node",
                "string",
                "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
            ),
            wide(
                "Readiness Gates",
                "string",
                "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
            ),
        ],
        Kind::Node => vec![
            NAME,
            col("Status", "string", "The status of the node"),
            col("Roles", "string", "The roles of the node"),
            AGE,
            col("Version", "string", "Kubelet Version reported by the node."),
            wide(
                "Internal-IP",
                "string",
                "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
            ),
            wide(
                "External-IP",
                "string",
                "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).",
            ),
            wide(
                "OS-Image",
                "string",
                "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
            ),
            wide(
                "Kernel-Version",
                "string",
                "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
            ),
            wide(
                "Container-Runtime",
                "string",
                "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
            ),
        ],
        Kind::PodDisruptionBudget => vec![
            NAME,
            col(
                "Min Available",
                "string",
                "The minimum number of pods that must be available simultaneously.  This can be either an integer or a string specifying a percentage, e.g. \"28%\".",
            ),
            col(
                "Max Unavailable",
                "string",
                "The maximum number of pods that may be unavailable simultaneously.  This can be either an integer or a string specifying a percentage, e.g. \"28%\".",
            ),
            col(
                "Allowed Disruptions",
                "integer",
                "Calculated number of pods that may be disrupted at this time.",
            ),
            AGE,
        ],
        Kind::Deployment => vec![
            NAME,
            col("Ready", "string", "Number of the pod with ready state"),
            col(
                "Up-to-date",
                "string",
                "Total number of non-terminating pods targeted by this deployment that have the desired template spec.",
            ),
            col(
                "Available",
                "string",
                "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        Kind::ReplicaSet | Kind::ReplicationController => vec![
            NAME,
            col("Desired", "integer", "Number of desired pods."),
            col("Current", "integer", "Number of actual pods."),
            col("Ready", "integer", "Number of ready pods."),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        Kind::StatefulSet => vec![
            NAME,
            col("Ready", "string", "Number of the pod with ready state"),
            AGE,
            CONTAINERS,
            IMAGES,
        ],
        Kind::DaemonSet => vec![
            NAME,
            col(
                "Desired",
                "integer",
                "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod).",
            ),
            col(
                "Current",
                "integer",
                "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
            ),
            col(
                "Ready",
                "integer",
                "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.",
            ),
            col(
                "Up-to-date",
                "integer",
                "The total number of nodes that are running updated daemon pod",
            ),
            col(
                "Available",
                "integer",
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
            ),
            col(
                "Node Selector",
                "string",
                "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        Kind::Service => vec![
            NAME,
            col("Type", "string", "The type of service."),
            col("Cluster-IP", "string", "The cluster IP of the service."),
            col("External-IP", "string", "The external IP of the service."),
            col("Port(s)", "string", "The ports of the service."),
            AGE,
            wide(
                "Selector",
                "string",
                "Route service traffic to pods with label keys and values matching this selector.",
            ),
        ],
        Kind::Endpoints => vec![
            NAME,
            col("Endpoints", "string", "Endpoints of the service."),
            AGE,
        ],
        Kind::EndpointSlice => vec![
            NAME,
            col("AddressType", "string", "The IP protocol for this slice"),
            col("Ports", "string", "The ports of this slice"),
            col("Endpoints", "string", "The endpoints of this slice"),
            AGE,
        ],
    }
}

/// The `columnDefinitions` of `kind`'s Table.
pub fn column_definitions(kind: Kind) -> Value {
    Value::Array(
        columns(kind)
            .into_iter()
            .map(|c| {
                json!({
                    "name": c.name, "type": c.type_, "format": c.format,
                    "description": c.description, "priority": i32::from(c.wide),
                })
            })
            .collect(),
    )
}

/// A Table of `objects` (each as the API serializes it) of `kind`, at wall time `now`.
/// `with_columns: false` leaves `columnDefinitions` empty, as upstream's watch events after
/// the first may.
pub fn table(
    kind: Kind,
    objects: &[Value],
    resource_version: &str,
    now: Time,
    with_columns: bool,
) -> Value {
    let rows: Vec<Value> = objects.iter().map(|o| row(kind, o, now)).collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": if with_columns { column_definitions(kind) } else { Value::Array(Vec::new()) },
        "rows": rows,
    })
}

fn row(kind: Kind, object: &Value, now: Time) -> Value {
    let cells = match kind {
        Kind::Pod => pod_cells(object, now),
        Kind::Node => node_cells(object, now),
        Kind::PodDisruptionBudget => pdb_cells(object, now),
        Kind::Deployment => deployment_cells(object, now),
        Kind::ReplicaSet | Kind::ReplicationController => replica_set_cells(object, now),
        Kind::StatefulSet => stateful_set_cells(object, now),
        Kind::DaemonSet => daemon_set_cells(object, now),
        Kind::Service => service_cells(object, now),
        Kind::Endpoints => endpoints_cells(object, now),
        Kind::EndpointSlice => endpoint_slice_cells(object, now),
    };
    json!({"cells": cells, "object": partial_object_metadata(object)})
}

/// `PartialObjectMetadata`: the object's metadata without its managed fields, as upstream's
/// Table rows carry by default (`includeObject=Metadata`).
pub fn partial_object_metadata(object: &Value) -> Value {
    let mut metadata = object.get("metadata").cloned().unwrap_or(json!({}));
    if let Some(m) = metadata.as_object_mut() {
        m.remove("managedFields");
    }
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata})
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).and_then(Value::as_str).unwrap_or("")
}

fn int_at(v: &Value, path: &[&str]) -> i64 {
    at(v, path).and_then(Value::as_i64).unwrap_or(0)
}

fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn array_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn name(object: &Value) -> Value {
    Value::String(str_at(object, &["metadata", "name"]).to_string())
}

fn age(object: &Value, now: Time) -> Value {
    Value::String(since(
        str_at(object, &["metadata", "creationTimestamp"]),
        now,
    ))
}

/// `translateTimestampSince`: `<unknown>` for no time, else a human duration.
fn since(timestamp: &str, now: Time) -> String {
    match Time::parse(timestamp) {
        Ok(t) => human_duration(now.unix_seconds() - t.unix_seconds()),
        Err(_) => "<unknown>".into(),
    }
}

/// apimachinery's `duration.HumanDuration`, on whole seconds.
pub fn human_duration(seconds: i64) -> String {
    // `5m`, or `5m3s` when the smaller unit is not zero.
    let units = |major: i64, major_unit: &str, minor: i64, minor_unit: &str| {
        if minor == 0 {
            format!("{major}{major_unit}")
        } else {
            format!("{major}{major_unit}{minor}{minor_unit}")
        }
    };
    let minutes = seconds / 60;
    let hours = seconds / 3600;
    let days = hours / 24;
    match seconds {
        s if s < -1 => "<invalid>".into(),
        s if s < 0 => "0s".into(),
        s if s < 120 => format!("{s}s"),
        _ if minutes < 10 => units(minutes, "m", seconds % 60, "s"),
        _ if minutes < 180 => format!("{minutes}m"),
        _ if hours < 8 => units(hours, "h", minutes % 60, "m"),
        _ if hours < 48 => format!("{hours}h"),
        _ if hours < 24 * 8 => units(days, "d", hours % 24, "h"),
        _ if hours < 24 * 365 * 2 => format!("{days}d"),
        _ if hours < 24 * 365 * 8 => units(days / 365, "y", days % 365, "d"),
        _ => format!("{}y", days / 365),
    }
}

fn none_if_empty(text: &str) -> Value {
    Value::String(if text.is_empty() { "<none>" } else { text }.to_string())
}

/// `printPod`: READY counts ready containers, STATUS is the phase refined by the
/// containers' waiting or terminated reasons, and `Terminating` once deletion started.
fn pod_cells(pod: &Value, now: Time) -> Vec<Value> {
    let containers = array_at(pod, &["spec", "containers"]).len();
    let mut restarts = 0i64;
    let mut ready = 0;
    let mut last_restart: Option<Time> = None;
    let mut reason = str_at(pod, &["status", "phase"]).to_string();
    let status_reason = str_at(pod, &["status", "reason"]);
    if !status_reason.is_empty() {
        reason = status_reason.to_string();
    }
    for condition in array_at(pod, &["status", "conditions"]) {
        if str_at(condition, &["type"]) == "PodScheduled"
            && str_at(condition, &["reason"]) == "SchedulingGated"
        {
            reason = "SchedulingGated".into();
        }
    }
    let mut initializing = false;
    let init_statuses = array_at(pod, &["status", "initContainerStatuses"]);
    let init_count = array_at(pod, &["spec", "initContainers"]).len();
    for (i, container) in init_statuses.iter().enumerate() {
        restarts += int_at(container, &["restartCount"]);
        note_restart(container, &mut last_restart);
        let terminated = at(container, &["state", "terminated"]);
        if let Some(t) = terminated
            && int_at(t, &["exitCode"]) == 0
        {
            continue;
        }
        if at(container, &["state", "running"]).is_some()
            && container.get("started").and_then(Value::as_bool) == Some(true)
        {
            // A restartable (sidecar) init container that is running.
            continue;
        }
        initializing = true;
        reason = if let Some(t) = terminated {
            let r = str_at(t, &["reason"]);
            if !r.is_empty() {
                format!("Init:{r}")
            } else if int_at(t, &["signal"]) != 0 {
                format!("Init:Signal:{}", int_at(t, &["signal"]))
            } else {
                format!("Init:ExitCode:{}", int_at(t, &["exitCode"]))
            }
        } else {
            let waiting = str_at(container, &["state", "waiting", "reason"]);
            if !waiting.is_empty() && waiting != "PodInitializing" {
                format!("Init:{waiting}")
            } else {
                format!("Init:{i}/{init_count}")
            }
        };
        break;
    }
    let mut has_running = false;
    if !initializing {
        restarts = 0;
        for container in array_at(pod, &["status", "containerStatuses"]).iter().rev() {
            restarts += int_at(container, &["restartCount"]);
            note_restart(container, &mut last_restart);
            let waiting = str_at(container, &["state", "waiting", "reason"]);
            let terminated = at(container, &["state", "terminated"]);
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(t) = terminated {
                let r = str_at(t, &["reason"]);
                reason = if !r.is_empty() {
                    r.to_string()
                } else if int_at(t, &["signal"]) != 0 {
                    format!("Signal:{}", int_at(t, &["signal"]))
                } else {
                    format!("ExitCode:{}", int_at(t, &["exitCode"]))
                };
            } else if container.get("ready").and_then(Value::as_bool) == Some(true)
                && at(container, &["state", "running"]).is_some()
            {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = array_at(pod, &["status", "conditions"])
                .iter()
                .any(|c| str_at(c, &["type"]) == "Ready" && str_at(c, &["status"]) == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.into();
        }
    }
    let phase = str_at(pod, &["status", "phase"]);
    let deleting = at(pod, &["metadata", "deletionTimestamp"]).is_some_and(|v| !v.is_null());
    if deleting && status_reason == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }
    let restarts_text = match last_restart {
        Some(t) => format!(
            "{restarts} ({} ago)",
            human_duration(now.unix_seconds() - t.unix_seconds())
        ),
        None => restarts.to_string(),
    };
    let gates = array_at(pod, &["spec", "readinessGates"]);
    let gates_text = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let passed = gates
            .iter()
            .filter(|g| {
                let wanted = str_at(g, &["conditionType"]);
                array_at(pod, &["status", "conditions"])
                    .iter()
                    .any(|c| str_at(c, &["type"]) == wanted && str_at(c, &["status"]) == "True")
            })
            .count();
        format!("{passed}/{}", gates.len())
    };
    vec![
        name(pod),
        Value::String(format!("{ready}/{containers}")),
        Value::String(reason),
        Value::String(restarts_text),
        age(pod, now),
        none_if_empty(str_at(pod, &["status", "podIP"])),
        none_if_empty(str_at(pod, &["spec", "nodeName"])),
        none_if_empty(str_at(pod, &["status", "nominatedNodeName"])),
        Value::String(gates_text),
    ]
}

fn note_restart(container: &Value, last: &mut Option<Time>) {
    if let Ok(t) = Time::parse(str_at(
        container,
        &["lastState", "terminated", "finishedAt"],
    )) && last.is_none_or(|l| t > l)
    {
        *last = Some(t);
    }
}

/// `printNode`: the Ready condition as `Ready`/`NotReady`/`Unknown`, then
/// `SchedulingDisabled` when cordoned.
fn node_cells(node: &Value, now: Time) -> Vec<Value> {
    let mut status = Vec::new();
    if let Some(ready) = array_at(node, &["status", "conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == "Ready")
    {
        status.push(if str_at(ready, &["status"]) == "True" {
            "Ready"
        } else {
            "NotReady"
        });
    }
    if status.is_empty() {
        status.push("Unknown");
    }
    if at(node, &["spec", "unschedulable"]).and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled");
    }
    let mut roles: Vec<String> = Vec::new();
    if let Some(labels) = at(node, &["metadata", "labels"]).and_then(Value::as_object) {
        for (key, value) in labels {
            if let Some(role) = key.strip_prefix("node-role.kubernetes.io/") {
                if !role.is_empty() {
                    roles.push(role.to_string());
                }
            } else if key == "kubernetes.io/role"
                && let Some(v) = value.as_str()
                && !v.is_empty()
            {
                roles.push(v.to_string());
            }
        }
    }
    roles.sort();
    roles.dedup();
    let address = |kind: &str| {
        array_at(node, &["status", "addresses"])
            .iter()
            .find(|a| str_at(a, &["type"]) == kind)
            .map(|a| str_at(a, &["address"]).to_string())
            .unwrap_or_default()
    };
    let unknown_if_empty =
        |text: &str| Value::String(if text.is_empty() { "<unknown>" } else { text }.to_string());
    vec![
        name(node),
        Value::String(status.join(",")),
        none_if_empty(&roles.join(",")),
        age(node, now),
        Value::String(str_at(node, &["status", "nodeInfo", "kubeletVersion"]).to_string()),
        none_if_empty(&address("InternalIP")),
        none_if_empty(&address("ExternalIP")),
        unknown_if_empty(str_at(node, &["status", "nodeInfo", "osImage"])),
        unknown_if_empty(str_at(node, &["status", "nodeInfo", "kernelVersion"])),
        unknown_if_empty(str_at(
            node,
            &["status", "nodeInfo", "containerRuntimeVersion"],
        )),
    ]
}

fn int_or_string(v: Option<&Value>) -> Value {
    Value::String(match v {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => "N/A".into(),
    })
}

fn pdb_cells(pdb: &Value, now: Time) -> Vec<Value> {
    vec![
        name(pdb),
        int_or_string(at(pdb, &["spec", "minAvailable"])),
        int_or_string(at(pdb, &["spec", "maxUnavailable"])),
        json!(int_at(pdb, &["status", "disruptionsAllowed"])),
        age(pdb, now),
    ]
}

/// Containers, images and selector of a workload's pod template (`layoutContainerCells`).
fn template_cells(object: &Value, with_selector: bool) -> Vec<Value> {
    let containers = array_at(object, &["spec", "template", "spec", "containers"]);
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, &["image"])).collect();
    let mut cells = vec![
        Value::String(names.join(",")),
        Value::String(images.join(",")),
    ];
    if with_selector {
        cells.push(Value::String(selector_text(at(
            object,
            &["spec", "selector"],
        ))));
    }
    cells
}

/// `labels.FormatLabels`: `k=v` pairs sorted by key, comma-separated; empty for none.
fn labels_text(map: Option<&Value>) -> String {
    let mut pairs: Vec<String> = map
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    pairs.join(",")
}

/// `metav1.FormatLabelSelector` for a LabelSelector, or the map form of a
/// ReplicationController's selector.
fn selector_text(selector: Option<&Value>) -> String {
    let Some(selector) = selector else {
        return "<none>".into();
    };
    let labels = selector
        .get("matchLabels")
        .or(if selector.get("matchExpressions").is_none() {
            Some(selector)
        } else {
            None
        });
    let mut parts: Vec<String> = Vec::new();
    let matched = labels_text(labels);
    if !matched.is_empty() {
        parts.push(matched);
    }
    for expression in array_at(selector, &["matchExpressions"]) {
        let key = str_at(expression, &["key"]);
        let values: Vec<&str> = array_at(expression, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match str_at(expression, &["operator"]) {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => format!("{key} {other}"),
        });
    }
    if parts.is_empty() {
        "<none>".into()
    } else {
        parts.join(",")
    }
}

/// `ready/desired` replicas, as the Deployment and StatefulSet READY columns print them.
fn ready_of_desired(object: &Value) -> Value {
    Value::String(format!(
        "{}/{}",
        int_at(object, &["status", "readyReplicas"]),
        int_at(object, &["spec", "replicas"])
    ))
}

fn deployment_cells(object: &Value, now: Time) -> Vec<Value> {
    let mut cells = vec![
        name(object),
        ready_of_desired(object),
        json!(int_at(object, &["status", "updatedReplicas"])),
        json!(int_at(object, &["status", "availableReplicas"])),
        age(object, now),
    ];
    cells.extend(template_cells(object, true));
    cells
}

fn replica_set_cells(object: &Value, now: Time) -> Vec<Value> {
    let mut cells = vec![
        name(object),
        json!(int_at(object, &["spec", "replicas"])),
        json!(int_at(object, &["status", "replicas"])),
        json!(int_at(object, &["status", "readyReplicas"])),
        age(object, now),
    ];
    cells.extend(template_cells(object, true));
    cells
}

fn stateful_set_cells(object: &Value, now: Time) -> Vec<Value> {
    let mut cells = vec![name(object), ready_of_desired(object), age(object, now)];
    cells.extend(template_cells(object, false));
    cells
}

fn daemon_set_cells(object: &Value, now: Time) -> Vec<Value> {
    let node_selector = labels_text(at(object, &["spec", "template", "spec", "nodeSelector"]));
    let mut cells = vec![
        name(object),
        json!(int_at(object, &["status", "desiredNumberScheduled"])),
        json!(int_at(object, &["status", "currentNumberScheduled"])),
        json!(int_at(object, &["status", "numberReady"])),
        json!(int_at(object, &["status", "updatedNumberScheduled"])),
        json!(int_at(object, &["status", "numberAvailable"])),
        none_if_empty(&node_selector),
        age(object, now),
    ];
    cells.extend(template_cells(object, true));
    cells
}

fn service_cells(object: &Value, now: Time) -> Vec<Value> {
    let type_ = match str_at(object, &["spec", "type"]) {
        "" => "ClusterIP",
        t => t,
    };
    let cluster_ip = match str_at(object, &["spec", "clusterIP"]) {
        "" => "<none>",
        ip => ip,
    };
    let mut external: Vec<String> = array_at(object, &["spec", "externalIPs"])
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if type_ == "LoadBalancer" {
        for ingress in array_at(object, &["status", "loadBalancer", "ingress"]) {
            let ip = str_at(ingress, &["ip"]);
            let host = str_at(ingress, &["hostname"]);
            external.push(if ip.is_empty() { host } else { ip }.to_string());
        }
    }
    let external_text = if type_ == "ExternalName" {
        str_at(object, &["spec", "externalName"]).to_string()
    } else if external.is_empty() {
        if type_ == "LoadBalancer" {
            "<pending>".to_string()
        } else {
            "<none>".to_string()
        }
    } else {
        external.join(",")
    };
    let ports: Vec<String> = array_at(object, &["spec", "ports"])
        .iter()
        .map(|p| {
            let protocol = match str_at(p, &["protocol"]) {
                "" => "TCP",
                x => x,
            };
            let port = int_at(p, &["port"]);
            match at(p, &["nodePort"]).and_then(Value::as_i64) {
                Some(node_port) if node_port != 0 => format!("{port}:{node_port}/{protocol}"),
                _ => format!("{port}/{protocol}"),
            }
        })
        .collect();
    let selector = labels_text(at(object, &["spec", "selector"]));
    vec![
        name(object),
        Value::String(type_.to_string()),
        Value::String(cluster_ip.to_string()),
        Value::String(external_text),
        none_if_empty(&ports.join(",")),
        age(object, now),
        none_if_empty(&selector),
    ]
}

/// `formatEndpoints`: up to three `ip:port` pairs, then ` + N more...`.
fn endpoints_cells(object: &Value, now: Time) -> Vec<Value> {
    let mut pairs = Vec::new();
    let mut total = 0usize;
    for subset in array_at(object, &["subsets"]) {
        let ports = array_at(subset, &["ports"]);
        for address in array_at(subset, &["addresses"]) {
            let ip = str_at(address, &["ip"]);
            if ports.is_empty() {
                total += 1;
                if pairs.len() < 3 {
                    pairs.push(ip.to_string());
                }
            }
            for port in ports {
                total += 1;
                if pairs.len() < 3 {
                    pairs.push(format!("{ip}:{}", int_at(port, &["port"])));
                }
            }
        }
    }
    let mut text = pairs.join(",");
    if total > pairs.len() {
        text.push_str(&format!(" + {} more...", total - pairs.len()));
    }
    vec![name(object), none_if_empty(&text), age(object, now)]
}

fn endpoint_slice_cells(object: &Value, now: Time) -> Vec<Value> {
    let ports: Vec<String> = array_at(object, &["ports"])
        .iter()
        .map(|p| int_at(p, &["port"]).to_string())
        .collect();
    let ports_text = if array_at(object, &["ports"]).is_empty() {
        "<unset>".to_string()
    } else {
        ports.join(",")
    };
    let mut addresses = Vec::new();
    let mut total = 0usize;
    for endpoint in array_at(object, &["endpoints"]) {
        for address in array_at(endpoint, &["addresses"]) {
            total += 1;
            if addresses.len() < 3
                && let Some(a) = address.as_str()
            {
                addresses.push(a.to_string());
            }
        }
    }
    let mut endpoints_text = addresses.join(",");
    if total > addresses.len() {
        endpoints_text.push_str(&format!(" + {} more...", total - addresses.len()));
    }
    vec![
        name(object),
        Value::String(str_at(object, &["addressType"]).to_string()),
        Value::String(ports_text),
        none_if_empty(&endpoints_text),
        age(object, now),
    ]
}

/// Whether an `Accept` header asks for a `meta.k8s.io/v1` Table. kubectl lists the Table
/// first and falls back to JSON; a Table for `v1beta1` alone is not served.
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|media| {
        let mut parts = media.split(';').map(str::trim);
        let kind = parts.next().unwrap_or("");
        if kind != "application/json" && kind != "*/*" {
            return false;
        }
        // The last value of each parameter counts, as when they are collected into a map.
        let (mut as_, mut g, mut v) = (None, None, None);
        for (key, value) in parts.filter_map(|p| p.split_once('=')) {
            match key.trim() {
                "as" => as_ = Some(value.trim()),
                "g" => g = Some(value.trim()),
                "v" => v = Some(value.trim()),
                _ => {}
            }
        }
        as_ == Some("Table") && g == Some("meta.k8s.io") && v == Some("v1")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_apimachinery() {
        for (seconds, text) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (119, "119s"),
            (120, "2m"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 - 1, "179m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 60, "3h1m"),
            (8 * 3600, "8h"),
            (48 * 3600, "2d"),
            (49 * 3600, "2d1h"),
            (8 * 86400, "8d"),
            (2 * 365 * 86400, "2y"),
            (2 * 365 * 86400 + 86400, "2y1d"),
            (9 * 365 * 86400, "9y"),
        ] {
            assert_eq!(human_duration(seconds), text, "{seconds}");
        }
    }

    fn pod_row(pod: Value) -> Vec<Value> {
        let now = Time::parse("2025-01-01T01:00:00Z").unwrap();
        pod_cells(&pod, now)[..5].to_vec()
    }

    fn two_containers(statuses: Value, status_extra: Value) -> Value {
        let mut status = json!({"phase": "podPhase", "containerStatuses": statuses});
        if let (Some(s), Some(extra)) = (status.as_object_mut(), status_extra.as_object()) {
            s.extend(extra.clone());
        }
        json!({"metadata": {"name": "test"}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]}, "status": status})
    }

    /// Cases of upstream's `TestPrintPod` (`pkg/printers/internalversion/printers_test.go`).
    #[test]
    fn pod_status_cells_follow_print_pod() {
        let running = json!({"running": {}});
        let cases = [
            (
                two_containers(
                    json!([{"ready": true, "restartCount": 3, "state": running}, {"restartCount": 3}]),
                    json!({}),
                ),
                json!(["test", "1/2", "podPhase", "6", "<unknown>"]),
            ),
            (
                two_containers(
                    json!([{"ready": true, "restartCount": 3, "state": running}, {"restartCount": 3, "state": {"waiting": {"reason": "ContainerWaitingReason"}}}]),
                    json!({}),
                ),
                json!(["test", "1/2", "ContainerWaitingReason", "6", "<unknown>"]),
            ),
            (
                two_containers(
                    json!([{"restartCount": 3, "state": {"waiting": {"reason": "ContainerWaitingReason"}}}, {"restartCount": 3, "state": {"terminated": {"reason": "ContainerTerminatedReason"}}}]),
                    json!({}),
                ),
                json!(["test", "0/2", "ContainerWaitingReason", "6", "<unknown>"]),
            ),
            (
                two_containers(
                    json!([{"ready": true, "restartCount": 3, "state": running}, {"ready": true, "restartCount": 3}]),
                    json!({}),
                ),
                json!(["test", "1/2", "podPhase", "6", "<unknown>"]),
            ),
            (
                two_containers(
                    json!([{"ready": true, "restartCount": 3, "state": running}, {"ready": true, "restartCount": 3, "state": running}]),
                    json!({"reason": "podReason"}),
                ),
                json!(["test", "2/2", "podReason", "6", "<unknown>"]),
            ),
            (
                two_containers(
                    json!([{"restartCount": 3, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}, {"ready": true, "restartCount": 3, "state": running}]),
                    json!({"phase": "Running"}),
                ),
                json!(["test", "1/2", "NotReady", "6", "<unknown>"]),
            ),
            (
                two_containers(
                    json!([{"restartCount": 3, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}, {"ready": true, "restartCount": 3, "state": running}]),
                    json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}),
                ),
                json!(["test", "1/2", "Running", "6", "<unknown>"]),
            ),
            (
                two_containers(
                    json!([{"restartCount": 0, "state": {"terminated": {"exitCode": 137, "signal": 9}}}, {"restartCount": 0, "state": {"terminated": {"exitCode": 1}}}]),
                    json!({}),
                ),
                json!(["test", "0/2", "Signal:9", "0", "<unknown>"]),
            ),
        ];
        for (pod, expected) in cases {
            assert_eq!(Value::Array(pod_row(pod.clone())), expected, "{pod}");
        }
    }

    #[test]
    fn terminating_init_restarts_and_lost_nodes() {
        let base = |extra: Value| {
            let mut pod = json!({
                "metadata": {"name": "p", "creationTimestamp": "2025-01-01T00:00:00Z"},
                "spec": {"containers": [{"name": "a"}], "initContainers": [{"name": "i"}, {"name": "j"}]},
                "status": {"phase": "Running"}
            });
            json_patch::merge(&mut pod, &extra);
            pod
        };
        let terminating = base(json!({"metadata": {"deletionTimestamp": "2025-01-01T00:59:00Z"}}));
        assert_eq!(pod_row(terminating)[2], "Terminating");
        let lost = base(
            json!({"metadata": {"deletionTimestamp": "2025-01-01T00:59:00Z"}, "status": {"reason": "NodeLost"}}),
        );
        assert_eq!(pod_row(lost)[2], "Unknown");
        let finished = base(
            json!({"metadata": {"deletionTimestamp": "2025-01-01T00:59:00Z"}, "status": {"phase": "Succeeded"}}),
        );
        assert_eq!(pod_row(finished)[2], "Succeeded");
        let initializing = base(
            json!({"status": {"phase": "Pending", "initContainerStatuses": [
                {"state": {"terminated": {"exitCode": 0}}}, {"state": {"waiting": {"reason": "PodInitializing"}}}
            ]}}),
        );
        assert_eq!(pod_row(initializing)[2], "Init:1/2");
        let crashing = base(json!({"status": {"containerStatuses": [{"restartCount": 4,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2025-01-01T00:58:00Z"}}}]}}));
        let row = pod_row(crashing);
        assert_eq!(row[2], "CrashLoopBackOff");
        assert_eq!(row[3], "4 (2m ago)");
        assert_eq!(row[4], "60m");
    }

    #[test]
    fn nodes_print_readiness_cordons_and_roles() {
        let now = Time::parse("2025-01-01T00:00:00Z").unwrap();
        let node = json!({
            "metadata": {"name": "n", "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "False"}], "nodeInfo": {"kubeletVersion": "v1.34.0"}}
        });
        let cells = node_cells(&node, now);
        assert_eq!(cells[1], "NotReady,SchedulingDisabled");
        assert_eq!(cells[2], "control-plane,worker");
        assert_eq!(cells[7], "<unknown>");
        let bare = json!({"metadata": {"name": "m"}});
        assert_eq!(node_cells(&bare, now)[1], "Unknown");
    }

    #[test]
    fn selectors_print_as_format_label_selector() {
        let selector = json!({"matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["web", "api"]},
            {"key": "gone", "operator": "DoesNotExist"}
        ]});
        assert_eq!(
            selector_text(Some(&selector)),
            "a=1,b=2,tier in (web,api),!gone"
        );
        assert_eq!(selector_text(Some(&json!({}))), "<none>");
    }

    /// `printDeployment`, `printStatefulSet`: READY is `ready/desired`.
    #[test]
    fn workloads_print_ready_of_desired() {
        let now = Time::parse("2025-01-01T00:00:00Z").unwrap();
        let object = json!({"metadata": {"name": "w"}, "spec": {"replicas": 3,
            "template": {"spec": {"containers": [{"name": "a", "image": "i"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
        let deployment = deployment_cells(&object, now);
        assert_eq!(deployment[1..4], [json!("2/3"), json!(3), json!(2)]);
        assert_eq!(stateful_set_cells(&object, now)[1], "2/3");
        assert_eq!(deployment[5..7], [json!("a"), json!("i")]);
    }

    #[test]
    fn table_accept_needs_every_parameter() {
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
        assert!(!wants_table(
            "application/json;as=Table;v=v1beta1;g=meta.k8s.io"
        ));
    }
}
