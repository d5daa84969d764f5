{{/*
What values.schema.json cannot express, checked the Bitnami way: every problem is collected,
then one `fail` reports them all. The rules and their wording are the Pulumi program's
(components/config.ts), so `helm install` of this chart alone rejects what the program rejects.
Included by statefulset.yaml (one failing template fails the whole release).
*/}}
{{- define "stateful-app.validateValues" -}}
{{- $messages := list -}}
{{- $name := .Release.Name -}}
{{- if or (gt (len $name) 52) (not (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $name)) -}}
{{- $messages = append $messages (printf "release name %q is not allowed; expected a DNS label of at most 52 characters: lowercase letters, digits and '-', starting with a letter (pods carry the label controller-revision-hash: <name>-<10 characters>, at most 63)" $name) -}}
{{- end -}}
{{- if eq .Values.updateStrategy.type "RollingUpdate" -}}
{{- $partition := int .Values.updateStrategy.partition -}}
{{- if gt $partition (int .Values.replicas) -}}
{{- $messages = append $messages (printf "updateStrategy.partition: got %d; expected at most replicas (%d)" $partition (int .Values.replicas)) -}}
{{- end -}}
{{- end -}}
{{- $requests := .Values.resources.requests | default dict -}}
{{- $limits := .Values.resources.limits | default dict -}}
{{- range $resource := list "cpu" "memory" "ephemeral-storage" -}}
{{- $request := get $requests $resource -}}
{{- $limit := get $limits $resource -}}
{{- if and $request $limit -}}
{{- if gt (include "stateful-app.quantity" $request | float64) (include "stateful-app.quantity" $limit | float64) -}}
{{- $messages = append $messages (printf "resources.requests.%s: got %q; expected at most the limit %s" $resource $request $limit) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $messages -}}
{{- fail (printf "invalid values (%d problem(s)):\n  - %s" (len $messages) (join "\n  - " $messages)) -}}
{{- end -}}
{{- end -}}

{{/*
A Kubernetes quantity (already matched by the schema's pattern) in base units, as a float:
the number times its suffix's factor (components/quantity.ts does the same).
*/}}
{{- define "stateful-app.quantity" -}}
{{- $quantity := toString . -}}
{{- $number := regexFind "^([0-9]+(\\.[0-9]*)?|\\.[0-9]+)" $quantity -}}
{{- $suffix := trimPrefix $number $quantity -}}
{{- $factors := dict "" 1.0 "n" 1e-9 "u" 1e-6 "m" 1e-3 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- $factor := 1.0 -}}
{{- if hasKey $factors $suffix -}}
{{- $factor = get $factors $suffix -}}
{{- else -}}
{{- $exponent := int (substr 1 (len $suffix) $suffix) -}}
{{- range until (ternary (mul -1 $exponent) $exponent (lt $exponent 0) | int) -}}
{{- $factor = ternary (divf $factor 10) (mulf $factor 10) (lt $exponent 0) -}}
{{- end -}}
{{- end -}}
{{- mulf (float64 $number) $factor -}}
{{- end -}}
