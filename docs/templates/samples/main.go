{#- The Go example: the standard library only, so `go run` downloads nothing. -#}
package main

import (
	"fmt"
	"io"
	"net/http"
{% if headers | selectattr("credential") | list %}
	"os"
{% endif %}
{% if body %}
	"strings"
{% endif %}
)

func main() {
{% if body %}
	body := strings.NewReader({{ body.text | go_raw }})
	request, err := http.NewRequest(http.Method{{ method | capitalize }}, {{ url | str_literal }}, body)
{% else %}
	request, err := http.NewRequest(http.Method{{ method | capitalize }}, {{ url | str_literal }}, nil)
{% endif %}
	if err != nil {
		panic(err)
	}
{% for h in headers %}
	request.Header.Set({{ h.name | str_literal }}, {% if h.credential %}{% if h.prefix %}{{ h.prefix | str_literal }}+{% endif %}os.Getenv({{ variable | str_literal }}){% else %}{{ h.value | str_literal }}{% endif %})
{% endfor %}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		panic(err)
	}
	defer response.Body.Close()
	content, err := io.ReadAll(response.Body)
	if err != nil {
		panic(err)
	}
	fmt.Println(response.Status)
	fmt.Println(string(content))
}
