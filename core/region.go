package stackauth

import (
	"fmt"
	"strings"
)

// Region is a CipherStash region such as "ap-southeast-2.aws".
type Region struct{ name, provider string }

// Regions offered by the CLI.
var KnownRegions = []string{
	"us-east-1.aws", "us-east-2.aws", "us-west-1.aws", "us-west-2.aws",
	"ap-southeast-2.aws", "eu-central-1.aws", "eu-west-1.aws",
}

// ParseRegion parses "<aws-region>.<provider>"; only the aws provider exists today.
func ParseRegion(s string) (Region, error) {
	name, provider, ok := strings.Cut(s, ".")
	if !ok || provider != "aws" || !validAWSRegionName(name) {
		return Region{}, newError(CodeInvalidRegion, "Invalid region: "+s)
	}
	return Region{name: name, provider: provider}, nil
}

// validAWSRegionName accepts the shape of AWS region names: lower-case words and a
// trailing number, e.g. "ap-southeast-2", "us-gov-west-1".
func validAWSRegionName(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 {
		return false
	}
	for i, p := range parts {
		if p == "" {
			return false
		}
		for _, c := range p {
			isDigit := c >= '0' && c <= '9'
			isLower := c >= 'a' && c <= 'z'
			if (i == len(parts)-1 && !isDigit) || (i < len(parts)-1 && !isLower) {
				return false
			}
		}
	}
	return true
}

// Identifier is the canonical string, e.g. "ap-southeast-2.aws".
func (r Region) Identifier() string { return r.name + "." + r.provider }
func (r Region) String() string     { return r.Identifier() }

// CTSEndpoint is the discovery URL of the region's token service.
func (r Region) CTSEndpoint() string {
	return "https://" + r.Identifier() + ".cts.cipherstashmanaged.net/"
}

// ValidWorkspaceID reports whether id is 16 characters of the RFC 4648 base32 alphabet.
func ValidWorkspaceID(id string) bool {
	if len(id) != 16 {
		return false
	}
	for _, c := range id {
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// Crn is a workspace CRN: crn:<region>:<workspace-id>[:<service>].
type Crn struct {
	Region      Region
	WorkspaceID string
}

// ParseCrn parses a workspace CRN; a trailing service name is accepted and ignored.
func ParseCrn(s string) (Crn, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 3 || len(parts) > 4 || parts[0] != "crn" || (len(parts) == 4 && parts[3] == "") {
		return Crn{}, newError(CodeInvalidCrn, s)
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

func (c Crn) String() string { return "crn:" + c.Region.Identifier() + ":" + c.WorkspaceID }
