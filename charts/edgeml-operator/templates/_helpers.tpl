{{- define "edgeml-operator.labels" -}}
app.kubernetes.io/name: edgeml-operator
{{- end -}}
