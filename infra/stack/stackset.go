package stack

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// templateBodyLimit is CloudFormation's limit on an inline TemplateBody.
const templateBodyLimit = 51200

// MemberTemplate synthesizes the member stack on its own, with the app's
// context (feature flags), and returns its CloudFormation template, the
// body of the StackSet.
func MemberTemplate(cfg Config, context map[string]any) (string, error) {
	dir, err := os.MkdirTemp("", "firebreak-member-")
	if err != nil {
		return "", fmt.Errorf("synthesizing the member stack: %w", err)
	}
	defer os.RemoveAll(dir)
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(dir), Context: &context})
	NewMemberStack(app, cfg)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	template := app.Synth(nil).GetStackByName(jsii.String(MemberStackName)).Template()
	body, err := json.Marshal(template)
	if err != nil {
		return "", fmt.Errorf("encoding the member stack's template: %w", err)
	}
	if len(body) > templateBodyLimit {
		return "", fmt.Errorf("the member stack's template is %d bytes, over CloudFormation's %d for a StackSet's TemplateBody", len(body), templateBodyLimit)
	}
	return string(body), nil
}

// newMemberStackSet deploys the member stack to every account of the
// organizational units, now and as accounts join them (service-managed
// permissions, automatic deployment). The role is global, so one Region
// (the first of cfg.Regions) holds the stack instances. The security
// account is a delegated administrator for StackSets, not the management
// account, hence DELEGATED_ADMIN.
func newMemberStackSet(stack awscdk.Stack, cfg Config, template string) {
	awscloudformation.NewCfnStackSet(stack, jsii.String("MemberStackSet"), &awscloudformation.CfnStackSetProps{
		StackSetName:    jsii.String(MemberStackName),
		Description:     jsii.String("Firebreak member role in every account of the organizational units"),
		PermissionModel: jsii.String("SERVICE_MANAGED"),
		CallAs:          jsii.String("DELEGATED_ADMIN"),
		AutoDeployment: &awscloudformation.CfnStackSet_AutoDeploymentProperty{
			Enabled: jsii.Bool(true),
			// An account that leaves the OUs loses the role.
			RetainStacksOnAccountRemoval: jsii.Bool(false),
		},
		Capabilities:     jsii.Strings("CAPABILITY_NAMED_IAM"),
		ManagedExecution: map[string]any{"Active": true},
		OperationPreferences: &awscloudformation.CfnStackSet_OperationPreferencesProperty{
			FailureTolerancePercentage: jsii.Number(10),
			MaxConcurrentPercentage:    jsii.Number(25),
			RegionConcurrencyType:      jsii.String("PARALLEL"),
		},
		StackInstancesGroup: []*awscloudformation.CfnStackSet_StackInstancesProperty{{
			DeploymentTargets: &awscloudformation.CfnStackSet_DeploymentTargetsProperty{
				OrganizationalUnitIds: jsii.Strings(cfg.OrganizationalUnitIDs...),
			},
			Regions: jsii.Strings(cfg.Regions[0]),
		}},
		TemplateBody: jsii.String(template),
	})
}
