package stackauth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stackauth/stack-auth/core/profile"
)

// Region is a CipherStash region such as "ap-southeast-2.aws".
type Region struct{ name, provider string }

// KnownRegions are the regions upstream serves (cts-common 0.43); no other region parses,
// so a credential is never sent to a host that upstream would refuse to build.
var KnownRegions = []string{
	"ap-southeast-2.aws", "ca-central-1.aws", "eu-central-1.aws", "eu-west-1.aws",
	"us-east-1.aws", "us-east-2.aws", "us-west-1.aws", "us-west-2.aws",
}

// supportedRegionsText lists KnownRegions for help texts.
var supportedRegionsText = strings.Join(KnownRegions, ", ")

// ParseRegion parses "<aws-region>.<provider>" and accepts only KnownRegions.
func ParseRegion(s string) (Region, error) {
	name, provider, _ := strings.Cut(s, ".")
	if !slices.Contains(KnownRegions, s) {
		return Region{}, newError(CodeInvalidRegion, "Invalid region: "+s)
	}
	return Region{name: name, provider: provider}, nil
}

// Identifier is the canonical string, e.g. "ap-southeast-2.aws".
func (r Region) Identifier() string { return r.name + "." + r.provider }
func (r Region) String() string     { return r.Identifier() }

// CTSEndpoint is the discovery URL of the region's token service.
func (r Region) CTSEndpoint() string {
	return "https://" + r.Identifier() + ".cts.cipherstashmanaged.net/"
}

// ValidWorkspaceID reports whether id is 16 characters of the RFC 4648 base32 alphabet
// (the profile directory's rule, which the emulator applies too).
func ValidWorkspaceID(id string) bool { return profile.ValidWorkspaceID(id) }

// Crn is a workspace CRN: crn:<region>:<workspace-id>[:<service>].
type Crn struct {
	Region      Region
	WorkspaceID string
}

// ParseCrn parses a workspace CRN; a trailing service name (letters, digits, `-`, `_`) is
// accepted and ignored.
func ParseCrn(s string) (Crn, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 3 || len(parts) > 4 || parts[0] != "crn" {
		return Crn{}, newError(CodeInvalidCrn, s)
	}
	if len(parts) == 4 && !validServiceName(parts[3]) {
		return Crn{}, newError(CodeInvalidCrn, fmt.Sprintf("%s (invalid service name)", s))
	}
	region, err := ParseRegion(parts[1])
	if err != nil {
		return Crn{}, newError(CodeInvalidCrn, fmt.Sprintf("%s (%s)", s, err.(*AuthError).Detail))
	}
	if !ValidWorkspaceID(parts[2]) {
		return Crn{}, newError(CodeInvalidCrn, fmt.Sprintf("%s (invalid workspace ID)", s))
	}
	return Crn{Region: region, WorkspaceID: parts[2]}, nil
}

// validServiceName is upstream's service-name rule: one or more ASCII letters, digits, `-`, `_`.
func validServiceName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (c Crn) String() string { return "crn:" + c.Region.Identifier() + ":" + c.WorkspaceID }
