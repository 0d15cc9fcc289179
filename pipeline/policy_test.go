package pipeline_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/grantmirror/grantmirror/pipeline"
	"github.com/grantmirror/grantmirror/pipeline/model"
)

func TestTranslatePolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, kind, sig, body string
		roles, primary        []string
		err                   string
	}{
		{"current role list", model.MaskingRule, "(VAL VARCHAR)",
			"CASE WHEN CURRENT_ROLE() IN ('ANALYST', 'PII_ADMIN') THEN val ELSE '***MASKED***' END", nil, []string{"ANALYST", "PII_ADMIN"}, ""},
		{"current role equals, lower-case keywords", model.MaskingRule, "(V STRING)",
			"case when current_role() = 'HR' then v else null end", nil, []string{"HR"}, ""},
		{"role in session, quoted role name", model.MaskingRule, "(EMAIL VARCHAR)",
			"CASE\n  WHEN IS_ROLE_IN_SESSION('Data Stewards') THEN email\n  ELSE regexp_replace(email, '.+@', '*****@')\nEND", []string{`"Data Stewards"`}, nil, ""},
		{"database role, OR, two branches", model.MaskingRule, "(VAL NUMBER)",
			"CASE WHEN IS_DATABASE_ROLE_IN_SESSION('HR.PII_READ') OR IS_ROLE_IN_SESSION('AUDITOR') THEN val WHEN CURRENT_ROLE() IN ('ADMIN') THEN val ELSE -1 END",
			[]string{"AUDITOR", "HR.PII_READ"}, []string{"ADMIN"}, ""},
		{"a partial branch after the reveal", model.MaskingRule, "(VAL VARCHAR)",
			"CASE WHEN IS_ROLE_IN_SESSION('A') THEN val WHEN IS_ROLE_IN_SESSION('B') THEN RIGHT(val, 4) ELSE '***' END", []string{"A"}, nil, ""},
		{"reveal after a hiding branch", model.MaskingRule, "(VAL VARCHAR)",
			"CASE WHEN IS_ROLE_IN_SESSION('B') THEN '***' WHEN IS_ROLE_IN_SESSION('A') THEN val ELSE '***' END", nil, nil, "order of the roles decides"},
		{"else reveals", model.MaskingRule, "(VAL VARCHAR)",
			"CASE WHEN CURRENT_ROLE() IN ('X') THEN '***' ELSE val END", nil, nil, "ELSE branch reveals"},
		{"a mapping table", model.MaskingRule, "(VAL VARCHAR)",
			"CASE WHEN EXISTS (SELECT 1 FROM gov.entitlements e WHERE e.role = CURRENT_ROLE()) THEN val ELSE '***' END", nil, nil, "beyond the policy shapes"},
		{"AND", model.MaskingRule, "(VAL VARCHAR)",
			"CASE WHEN IS_ROLE_IN_SESSION('A') AND IS_ROLE_IN_SESSION('B') THEN val ELSE '***' END", nil, nil, "beyond the policy shapes"},
		{"another column", model.MaskingRule, "(VAL VARCHAR, OWNER VARCHAR)",
			"CASE WHEN IS_ROLE_IN_SESSION('A') THEN owner ELSE '***' END", nil, nil, ""}, // another argument is not the value: nobody sees it
		{"row access, bare condition", model.RowAccessRule, "(REGION VARCHAR)",
			"IS_ROLE_IN_SESSION('SALES_ALL') OR CURRENT_ROLE() IN ('ADMIN')", []string{"SALES_ALL"}, []string{"ADMIN"}, ""},
		{"row access, case", model.RowAccessRule, "(REGION VARCHAR)",
			"CASE WHEN IS_ROLE_IN_SESSION('SALES_ALL') THEN TRUE ELSE FALSE END", []string{"SALES_ALL"}, nil, ""},
		{"row access on the row's values", model.RowAccessRule, "(REGION VARCHAR)",
			"CASE WHEN IS_ROLE_IN_SESSION('SALES_ALL') THEN TRUE WHEN region = 'EU' THEN TRUE ELSE FALSE END", nil, nil, "beyond the policy shapes"},
		{"projection", model.ProjectionRule, "()",
			"CASE WHEN IS_ROLE_IN_SESSION('HR') THEN PROJECTION_CONSTRAINT(ALLOW => true) ELSE PROJECTION_CONSTRAINT(ALLOW => false) END", []string{"HR"}, nil, ""},
		{"projection with enforcement", model.ProjectionRule, "()",
			"CASE WHEN IS_ROLE_IN_SESSION('HR') THEN PROJECTION_CONSTRAINT(ALLOW => true) ELSE PROJECTION_CONSTRAINT(ALLOW => false, ENFORCEMENT => 'NULLIFY') END", nil, nil, "want ) after ALLOW"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			roles, primary, err := pipeline.TranslatePolicy(tc.kind, tc.sig, tc.body)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.roles, roles)
			require.Equal(t, tc.primary, primary)
		})
	}
}
