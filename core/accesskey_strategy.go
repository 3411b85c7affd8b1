package stackauth

import "context"

// AccessKeyStrategy authenticates a service with an access key scoped to a workspace. The
// key never changes, so re-authenticating is how it "refreshes". Every token it returns,
// including one read from a store, is checked to belong to the configured workspace.
type AccessKeyStrategy struct {
	*Engine
	crn Crn
}

// NewAccessKeyStrategy builds the strategy; the CTS URL is WithBaseURL > CS_CTS_HOST >
// the region's discovery URL. No network I/O happens until the first GetToken.
func NewAccessKeyStrategy(workspaceCrn, accessKey string, opts ...Option) (*AccessKeyStrategy, error) {
	crn, err := ParseCrn(workspaceCrn)
	if err != nil {
		return nil, err
	}
	return newAccessKeyStrategy(crn, accessKey, buildOptions(opts))
}

func newAccessKeyStrategy(crn Crn, accessKey string, o *options) (*AccessKeyStrategy, error) {
	key, err := ParseAccessKey(accessKey)
	if err != nil {
		return nil, err
	}
	base, err := resolveBaseURL(o.baseURL, o.getenv, discoveryURL(crn.Region))
	if err != nil {
		return nil, err
	}
	r := &accessKeyRefresher{cts: o.cts(base), key: key, audience: o.audience}
	verify := func(t ServiceToken) error { return t.VerifyWorkspace(crn.WorkspaceID) }
	var store TokenStore
	if o.store != nil {
		store = bindStore(o.store, accessKeyScope(crn.WorkspaceID, key.KeyID(), o.audience), []byte(key.Secret().Reveal()))
	}
	return &AccessKeyStrategy{Engine: newEngine(r, store, verify, o), crn: crn}, nil
}

// WorkspaceCrn is the workspace this strategy is bound to.
func (s *AccessKeyStrategy) WorkspaceCrn() Crn { return s.crn }

func (s *AccessKeyStrategy) String() string { return "AccessKeyStrategy(" + s.crn.String() + ")" }

type accessKeyRefresher struct {
	cts      *ctsClient
	key      AccessKey
	audience string
}

func (r *accessKeyRefresher) canRefresh(*Token) bool { return true }

func (r *accessKeyRefresher) refresh(ctx context.Context, _ *Token) (*Token, error) {
	return r.cts.authorise(ctx, accessKeyBody{AccessKey: r.key.Secret(), Audience: r.audience},
		r.key.Secret(), r.key.secretPart())
}
