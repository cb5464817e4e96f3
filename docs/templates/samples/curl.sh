{#- The curl example: `sh` runs it as it stands, with the credential in the environment. -#}
curl {% if method == "HEAD" %}-I{% else %}-i{% endif %}{% if method not in ["GET", "HEAD"] %} -X {{ method }}{% endif %} {{ url | sh_quote }}
{%- for h in headers %} \
  -H {% if h.credential %}"{{ h.name }}: {{ h.prefix }}${{ variable }}"{% else %}{{ (h.name ~ ": " ~ h.value) | sh_quote }}{% endif %}
{%- endfor %}
{%- if body %} \
  --data-binary {{ body.text | sh_quote }}
{%- endif %}
