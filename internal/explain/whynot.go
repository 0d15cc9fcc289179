package explain

import "github.com/grantmirror/grantmirror/pipeline"

// Miss is one reason a person lacks access, most useful first.
type Miss struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

func whyNot(m *pipeline.Mirror, ix *index, q Query) []Miss {
	return nil
}
