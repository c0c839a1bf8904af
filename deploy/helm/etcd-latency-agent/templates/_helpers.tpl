{{/*
The objects of files/agent.yaml (the agent part as kustomize renders it), one map each.
*/}}
{{- define "etcd-latency-agent.agentObjects" -}}
{{- $objects := list -}}
{{- range $doc := regexSplit "(?m)^---[ \t]*$" (.Files.Get "files/agent.yaml") -1 -}}
{{- $o := fromYaml $doc -}}
{{- if $o.Error -}}{{- fail (printf "files/agent.yaml: %s" $o.Error) -}}{{- end -}}
{{- if $o.kind -}}{{- $objects = append $objects $o -}}{{- end -}}
{{- end -}}
{{- toJson $objects -}}
{{- end -}}

{{/*
Labels of an object with the values' labels laid over them: the values win, and a value of null
removes the label (e.g. release).
*/}}
{{- define "etcd-latency-agent.labels" -}}
{{- $labels := merge (deepCopy (.values | default dict)) (.labels | default dict) -}}
{{- range $k, $v := $labels -}}{{- if kindIs "invalid" $v -}}{{- $_ := unset $labels $k -}}{{- end -}}{{- end -}}
{{- toJson $labels -}}
{{- end -}}
