package config

import "testing"

func TestLoad(t *testing.T) {
	env := func(m map[string]string) Getenv { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		env     map[string]string
		wantErr bool
		check   func(t *testing.T, c Config)
	}{
		{name: "no table", env: map[string]string{}, wantErr: true},
		{name: "aws needs the signing secret", env: map[string]string{"TABLE_NAME": "t"}, wantErr: true},
		{name: "aws", env: map[string]string{"TABLE_NAME": "t", "SIGNING_SECRET_ARN": "arn:x", "CORS_ORIGINS": " https://a.example , https://b.example,"},
			check: func(t *testing.T, c Config) {
				if c.Local() || len(c.CORSOrigins) != 2 || c.CORSOrigins[1] != "https://b.example" || c.TokenIssuer != "matterly" {
					t.Errorf("config = %+v", c)
				}
			}},
		{name: "local", env: map[string]string{"TABLE_NAME": "t", "DYNAMODB_ENDPOINT": "http://127.0.0.1:1"},
			check: func(t *testing.T, c Config) {
				if !c.Local() || c.DevDataDir != ".dev" {
					t.Errorf("config = %+v", c)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(env(tt.env))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}
