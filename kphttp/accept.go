package kphttp

import (
	"net/http"
	"strings"
)

// acceptsGzip reports whether r's Accept-Encoding admits gzip: "gzip",
// "x-gzip" or "*" with a quality above zero, and no "gzip;q=0" (RFC 9110,
// 12.5.3). It allocates nothing.
func acceptsGzip(r *http.Request) bool {
	ok := false
	for _, v := range r.Header["Accept-Encoding"] {
		for v != "" {
			var item string
			item, v, _ = strings.Cut(v, ",")
			coding, params, _ := strings.Cut(item, ";")
			coding = strings.TrimSpace(coding)
			star := coding == "*"
			if !star && !strings.EqualFold(coding, "gzip") && !strings.EqualFold(coding, "x-gzip") {
				continue
			}
			zero := qualityZero(params)
			if zero && !star {
				return false
			}
			if !zero {
				ok = true
			}
		}
	}
	return ok
}

// qualityZero reports whether the parameters after a coding set q to zero
// ("q=0", "q=0.0", "q=0.000").
func qualityZero(params string) bool {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, val, found := strings.Cut(strings.TrimSpace(p), "=")
		if !found || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		val = strings.TrimSpace(val)
		if val == "" || val[0] != '0' {
			return false
		}
		return strings.Trim(val[1:], ".0") == ""
	}
	return false
}
