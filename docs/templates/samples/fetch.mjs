{#- The JavaScript example: Node runs it as an ES module, top-level `await` and all. -#}
const response = await fetch({{ url | str_literal }}, {
  method: {{ method | str_literal }},
{% if headers %}
  headers: {
{% for h in headers %}
    {{ h.name | str_literal }}: {% if h.credential %}{% if h.prefix %}{{ h.prefix | str_literal }} + {% endif %}process.env.{{ variable }}{% else %}{{ h.value | str_literal }}{% endif %},
{% endfor %}
  },
{% endif %}
{% if body %}
{% if body.json %}
  body: JSON.stringify({{ body.text | indent_after_first(2) }}),
{% else %}
  body: {{ body.text | str_literal }},
{% endif %}
{% endif %}
});
console.log(response.status, response.statusText);
console.log(await response.text());
