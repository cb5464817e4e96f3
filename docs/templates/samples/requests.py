{#- The Python example: `requests`, reading the credential from the environment. -#}
{% set call = method_lower if method_lower in ["get", "post", "put", "patch", "delete", "head", "options"] else "request" %}
{% set sent = headers | rejectattr("name", "eq", "Content-Type") | list if body and body.json else headers %}
{% if headers | selectattr("credential") | list %}
import os

{% endif %}
import requests

response = requests.{{ call }}(
{% if call == "request" %}
    {{ method | str_literal }},
{% endif %}
    {{ url | str_literal }},
{% if sent %}
    headers={
{% for h in sent %}
        {{ h.name | str_literal }}: {% if h.credential %}{% if h.prefix %}{{ h.prefix | str_literal }} + {% endif %}os.environ[{{ variable | str_literal }}]{% else %}{{ h.value | str_literal }}{% endif %},
{% endfor %}
    },
{% endif %}
{% if body %}
{% if body.json %}
    json={{ body.python | indent_after_first(4) }},
{% else %}
    data={{ body.text | str_literal }},
{% endif %}
{% endif %}
)
print(response.status_code, response.reason)
print(response.text)
