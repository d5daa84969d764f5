{{/*
The app name. Every object is named after the release, as the Pulumi raw component names
them after the app: a release installed over a deleted raw StatefulSet finds its PVCs. Never
truncated: _validate.tpl rejects a name that would not fit.
*/}}
{{- define "stateful-app.name" -}}
{{- .Release.Name -}}
{{- end -}}

{{- define "stateful-app.headlessServiceName" -}}
{{- printf "%s-headless" (include "stateful-app.name" .) -}}
{{- end -}}

{{/* Labels that select the app's pods. Never change them: the StatefulSet selector is immutable. */}}
{{- define "stateful-app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stateful-app.name" . }}
app.kubernetes.io/instance: {{ include "stateful-app.name" . }}
{{- end -}}

{{/* The pod template's labels: no helm.sh/chart, or every chart version bump would restart every pod. */}}
{{- define "stateful-app.podLabels" -}}
{{ include "stateful-app.selectorLabels" . }}
app.kubernetes.io/component: web
app.kubernetes.io/part-of: stateful-apps
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "stateful-app.labels" -}}
{{ include "stateful-app.podLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "stateful-app.metadata" -}}
name: {{ include "stateful-app.name" . }}
namespace: {{ .Release.Namespace }}
labels:
  {{- include "stateful-app.labels" . | nindent 2 }}
{{- end -}}

{{/*
The pod's affinity: .Values.affinity, plus the podAntiAffinity of podAntiAffinityPreset unless
affinity has one of its own (an explicit podAntiAffinity wins; a nodeAffinity or podAffinity
combines with the preset). The same as components/manifests.ts podPlacement, whose
ANTI_AFFINITY_TOPOLOGY_KEY and SOFT_ANTI_AFFINITY_WEIGHT this repeats. Empty when there is none.
*/}}
{{- define "stateful-app.affinity" -}}
{{- $affinity := deepCopy .Values.affinity -}}
{{- $preset := .Values.podAntiAffinityPreset -}}
{{- if and $preset (not (hasKey $affinity "podAntiAffinity")) -}}
{{- $term := dict "labelSelector" (dict "matchLabels" (include "stateful-app.selectorLabels" . | fromYaml)) "topologyKey" "kubernetes.io/hostname" -}}
{{- if eq $preset "soft" -}}
{{- $_ := set $affinity "podAntiAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list (dict "weight" 1 "podAffinityTerm" $term))) -}}
{{- else -}}
{{- $_ := set $affinity "podAntiAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (list $term)) -}}
{{- end -}}
{{- end -}}
{{- with $affinity -}}
{{- toYaml . -}}
{{- end -}}
{{- end -}}

{{/*
topologySpreadConstraints with the app's selector labels as the labelSelector of each constraint
that has none (Kubernetes would otherwise count no pod and never spread), as manifests.ts does.
*/}}
{{- define "stateful-app.topologySpreadConstraints" -}}
{{- $constraints := list -}}
{{- range .Values.topologySpreadConstraints -}}
{{- $constraint := deepCopy . -}}
{{- if not (hasKey $constraint "labelSelector") -}}
{{- $_ := set $constraint "labelSelector" (dict "matchLabels" (include "stateful-app.selectorLabels" $ | fromYaml)) -}}
{{- end -}}
{{- $constraints = append $constraints $constraint -}}
{{- end -}}
{{- toYaml $constraints -}}
{{- end -}}

{{/* A probe of the app's http port from one of values.yaml's pod probes (as podFacts.ts httpProbe). */}}
{{- define "stateful-app.httpProbe" -}}
httpGet:
  path: {{ .path }}
  port: http
periodSeconds: {{ int64 .periodSeconds }}
timeoutSeconds: {{ int64 .timeoutSeconds }}
failureThreshold: {{ int64 .failureThreshold }}
{{- end }}
