package awsfake

import (
	"context"
	"fmt"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awsclient"
)

// Factory hands the world's clients to code that asks per account and Region,
// as awsclient.Factory does against real AWS.
type Factory struct{ W *World }

// Region is the world's Region.
func (f Factory) Region() string { return f.W.Region() }

// For returns the world's clients for its own account and Region; any other
// account is refused the way the real factory refuses it.
func (f Factory) For(_ context.Context, account, region string) (awsapi.Clients, error) {
	if account != "" && account != f.W.Account() {
		return awsapi.Clients{}, fmt.Errorf("%w: %s, while Firebreak runs in %s", awsclient.ErrOtherAccount, account, f.W.Account())
	}
	if region != "" && region != f.W.Region() {
		return awsapi.Clients{}, fmt.Errorf("no simulated Region %s (the world is %s)", region, f.W.Region())
	}
	return f.W.Clients(), nil
}

// OwnAccount is the world's account.
func (f Factory) OwnAccount(context.Context) (string, error) { return f.W.Account(), nil }
