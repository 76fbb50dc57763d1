package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/calendar"
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/esign"
	"github.com/matterly/matterly/shared/messaging"
	"github.com/matterly/matterly/shared/payments"
	"github.com/matterly/matterly/shared/privacy"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/summaries"
)

// functionNeeds are the needs each function's main states (StartHTTP's
// config.HTTP for the route table's functions). tokenkey reads no config.
var functionNeeds = map[string][]config.Need{
	fnStripeWorker:   {config.Table},
	fnRelay:          {config.Table, config.Events},
	fnMessageWorker:  {config.Table, config.Signing}, // StartHandler's default
	fnNotifier:       {config.Table, config.Signing},
	fnAIWorker:       {config.Table, config.Signing},
	fnESignWorker:    {config.Table},
	fnChatWS:         {config.Table},
	fnCalendarWorker: {config.Table},
	fnPrivacyWorker:  {config.Table}, // StartHandler(…, config.Table)
}

// render spells a template value as the function would see it, with
// tokens (Ref, GetAtt) as placeholders and Fn::Join joined, so QUEUE_URLS
// still parses.
func render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case obj:
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			parts, _ := j[1].([]any)
			var ss []string
			for _, p := range parts {
				ss = append(ss, render(p))
			}
			return strings.Join(ss, fmt.Sprint(j[0]))
		}
		if r, ok := x["Ref"].(string); ok {
			return "arn:token:" + r
		}
	}
	b, _ := json.Marshal(v)
	return "token:" + string(b)
}

// TestFunctionEnvironments: every synthesized function's environment loads
// through config, meets the needs its main states, and names exactly what
// permsFor grants it; each secret, bucket and queue it names, its role may use.
func TestFunctionEnvironments(t *testing.T) {
	for _, name := range codeFunctions() {
		if name == fnTokenKey {
			continue
		}
		t.Run(name, func(t *testing.T) {
			id := functionID(t, name)
			vars, _ := dig(props(resources[id].(obj)), "Environment", "Variables").(obj)
			cfg, err := config.Load(func(k string) string {
				if v, ok := vars[k]; ok {
					return render(v)
				}
				return ""
			})
			if err != nil {
				t.Fatalf("config.Load: %v", err)
			}
			needs, ok := functionNeeds[name]
			if !ok {
				needs = config.HTTP
			}
			if err := cfg.Require(needs...); err != nil {
				t.Errorf("needs %v: %v", needs, err)
			}

			sts := roleStatementsOf(t, id)
			for k, v := range vars {
				switch {
				case strings.HasSuffix(k, "_SECRET_ARN"):
					if !grants(sts, "secretsmanager:GetSecretValue", v) {
						t.Errorf("%s = %v, which the role may not read", k, v)
					}
				case k == config.EnvKMSKeyID && slices.Contains(routes.Functions(), name) && permsFor(name).Seal:
					// A sealing function asks the key for data keys and opens them.
					for _, a := range []string{"kms:GenerateDataKey", "kms:Decrypt"} {
						if !grants(sts, a, getAtt(keyID(t))) {
							t.Errorf("%s set for sealing, but the role may not %s on the key", k, a)
						}
					}
				case k == config.EnvBucketName:
					exports := obj{"Fn::Join": []any{"", []any{getAtt(bucketID(t)), "/exports/*"}}}
					if !grants(sts, "s3:GetObject", objectsArn(bucketID(t))) && !grants(sts, "s3:GetObject", exports) &&
						!grants(sts, "s3:GetObject", anchorsArn(bucketID(t))) &&
						!grants(sts, "s3:DeleteObjectVersion", objectsArn(bucketID(t))) {
						t.Errorf("%s set, but the role may not use the bucket", k)
					}
				}
			}
			for q, url := range cfg.QueueURLs {
				queue, ok := strings.CutPrefix(url, "arn:token:")
				if !ok || !grants(sts, "sqs:SendMessage", getAtt(queue)) {
					t.Errorf("queue %s = %s, which the role may not send to", q, url)
				}
			}

			if !slices.Contains(routes.Functions(), name) {
				return
			}
			p := permsFor(name)
			for _, c := range []struct {
				what string
				set  bool
				want bool
			}{
				{config.EnvBucketName, cfg.BucketName != "", p.Bucket || p.ReadDocuments || p.PrivacyExports || p.Erasure || p.AuditVerify},
				{"queue " + privacy.Queue, cfg.QueueURLs[privacy.Queue] != "", p.PrivacyExports},
				{config.EnvDropboxSignSecretARN, cfg.DropboxSignSecretARN != "", p.ESign},
				{"queue " + esign.FilesQueue, cfg.QueueURLs[esign.FilesQueue] != "", p.ESignFiles},
				{config.EnvTokenSecretARN, cfg.TokenSecret != "", p.TokenSigner},
				{config.EnvKMSKeyID + " (sealing)", cfg.KMSKeyID != "" || !p.Seal, true},
				{config.EnvStripeSecretARN, cfg.StripeSecretARN != "", p.Stripe},
				{config.EnvStripeWebhookSecretARN, cfg.StripeWebhookSecretARN != "", p.StripeWebhook},
				{config.EnvTwilioSecretARN, cfg.TwilioSecretARN != "", p.Twilio},
				{config.EnvOpenAISecretARN, cfg.OpenAISecretARN != "", p.OpenAI},
				{config.EnvGiphySecretARN, cfg.GiphySecretARN != "", p.Giphy},
				{"queue " + payments.EventsQueue, cfg.QueueURLs[payments.EventsQueue] != "", p.StripeWebhook},
				{"queue " + messaging.Queue, cfg.QueueURLs[messaging.Queue] != "", p.Messages},
				{"queue " + summaries.Queue, cfg.QueueURLs[summaries.Queue] != "", p.Summaries},
				{config.EnvMSClientSecretARN, cfg.MSClientSecretARN != "", p.Calendar},
				{"queue " + calendar.Queue, cfg.QueueURLs[calendar.Queue] != "", p.CalendarQueue},
				{config.EnvAuditKeyID, cfg.AuditKeyID != "", p.AuditVerify},
			} {
				if c.set != c.want {
					t.Errorf("%s set %v, permsFor grants %v", c.what, c.set, c.want)
				}
			}
		})
	}
}
