{{- define "edgeml-operator.labels" -}}
app.kubernetes.io/name: edgeml-operator
{{- end -}}

{{- /* The release image: by digest when image.digest is set (what a release pins), else by tag. */ -}}
{{- define "edgeml-operator.image" -}}
{{ .Values.image.repository }}{{ if .Values.image.digest }}@{{ .Values.image.digest }}{{ else }}:{{ .Values.image.tag }}{{ end }}
{{- end -}}
