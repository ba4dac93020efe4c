"""Reading infra/template.yaml the way CloudFormation would, for the resources we run locally.

The local runtime derives every table, bucket, queue, environment variable, route and event source
from the template, so the service cannot run differently here than when deployed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = REPO_ROOT / "infra" / "template.yaml"
LOCAL_ACCOUNT = "123456789012"  # moto's default account


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short tags (!Ref, !Sub...) into their long form."""


def _tag(name: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _short, _long in {"Ref": "Ref", "GetAtt": "Fn::GetAtt", "Sub": "Fn::Sub", "Join": "Fn::Join",
                      "Select": "Fn::Select", "If": "Fn::If", "Equals": "Fn::Equals", "Not": "Fn::Not",
                      "Split": "Fn::Split", "FindInMap": "Fn::FindInMap", "Condition": "Condition"}.items():
    _CfnLoader.add_constructor(f"!{_short}", _tag(_long))


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    module: str
    attribute: str
    environment: dict[str, str]
    http_routes: list[tuple[str, str]] = field(default_factory=list)
    # (queue logical id, batch size)
    sqs_sources: list[tuple[str, int]] = field(default_factory=list)
    name: str = ""  # the physical function name
    timeout_s: float = 3.0


@dataclass(frozen=True)
class StateMachineSpec:
    logical_id: str
    name: str
    arn: str
    definition: str  # the ASL JSON, substitutions applied


_NAME_PROPERTY = {"AWS::DynamoDB::Table": "TableName", "AWS::S3::Bucket": "BucketName",
                  "AWS::SQS::Queue": "QueueName", "AWS::SNS::Topic": "TopicName",
                  "AWS::Serverless::Function": "FunctionName", "AWS::Serverless::StateMachine": "Name"}


class Stack:
    """The template resolved for one stack name, region and account."""

    def __init__(self, template: dict[str, Any], stack_name: str, region: str, account: str = LOCAL_ACCOUNT,
                 template_dir: Path = TEMPLATE_PATH.parent) -> None:
        self.template = template
        self.stack_name = stack_name
        self.region = region
        self.account = account
        self.template_dir = template_dir
        self.resources: dict[str, dict[str, Any]] = template.get("Resources", {})
        self.parameters = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
        # Values that exist only once a resource is created (queue URLs), filled by the provisioner.
        self.physical_refs: dict[str, str] = {}

    # -- names and attributes
    def of_type(self, resource_type: str) -> list[str]:
        return [rid for rid, r in self.resources.items() if r["Type"] == resource_type]

    def physical_name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        prop = _NAME_PROPERTY.get(resource["Type"])
        given = resource.get("Properties", {}).get(prop) if prop else None
        if given is not None:
            return str(self.resolve(given))
        return f"{self.stack_name}-{logical_id}".lower()

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        if kind == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{self.region}:{self.account}:{name}"
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{name}"
        if kind == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}"
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{self.region}:{self.account}:{name}"
        if kind == "AWS::Serverless::Function":
            return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
        if kind == "AWS::Serverless::StateMachine":
            return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}"
        raise KeyError(f"no local ARN for {kind}")

    def ref(self, name: str) -> str:
        pseudo = {"AWS::StackName": self.stack_name, "AWS::Region": self.region, "AWS::AccountId": self.account,
                  "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical_refs:
            return self.physical_refs[name]
        if name in self.resources:
            # CloudFormation's Ref of a topic or state machine is its ARN; of the others, their name/URL.
            if self.resources[name]["Type"] in ("AWS::SNS::Topic", "AWS::Serverless::StateMachine"):
                return self.arn(name)
            return self.physical_name(name)
        raise KeyError(f"unresolvable Ref {name}")

    # -- intrinsic functions
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                if attr == "Arn":
                    return self.arn(logical)
                if attr in ("TopicName", "QueueName", "Name"):
                    return self.physical_name(logical)
                raise KeyError(f"unsupported GetAtt {logical}.{attr}")
            if fn == "Fn::Sub":
                return self._sub(arg)
            if fn == "Fn::Join":
                sep, parts = arg
                return sep.join(str(p) for p in self.resolve(parts))
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self.resolve({"Fn::GetAtt": name.split(".", 1)})
            return self.ref(name)

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    # -- functions
    def functions(self) -> list[FunctionSpec]:
        glob = self.template.get("Globals", {}).get("Function", {})
        base_env = glob.get("Environment", {}).get("Variables", {})
        specs = []
        for logical_id in self.of_type("AWS::Serverless::Function"):
            props = self.resources[logical_id]["Properties"]
            env = {**base_env, **props.get("Environment", {}).get("Variables", {})}
            module, attribute = props["Handler"].rsplit(".", 1)
            routes, sources = [], []
            for event in props.get("Events", {}).values():
                ev = event.get("Properties", {})
                if event["Type"] == "HttpApi":
                    routes.append((ev["Method"].upper(), ev["Path"]))
                elif event["Type"] == "SQS":
                    queue = ev["Queue"]
                    queue_id = queue["Fn::GetAtt"][0] if isinstance(queue, dict) else queue
                    sources.append((queue_id, int(ev.get("BatchSize", 10))))
            specs.append(FunctionSpec(
                logical_id=logical_id,
                code_dir=(self.template_dir / props["CodeUri"]).resolve(),
                module=module,
                attribute=attribute,
                environment={k: str(self.resolve(v)) for k, v in env.items()},
                http_routes=routes,
                sqs_sources=sources,
                name=self.physical_name(logical_id),
                timeout_s=float(props.get("Timeout", glob.get("Timeout", 3))),
            ))
        return specs

    def state_machines(self) -> list[StateMachineSpec]:
        """Step Functions state machines: their ASL from ``DefinitionUri`` (or ``Definition``), with
        ``DefinitionSubstitutions`` applied as SAM does."""
        specs = []
        for logical_id in self.of_type("AWS::Serverless::StateMachine"):
            props = self.resources[logical_id]["Properties"]
            if "DefinitionUri" in props:
                text = (self.template_dir / props["DefinitionUri"]).read_text()
            else:
                text = json.dumps(props["Definition"])
            for key, value in self.resolve(props.get("DefinitionSubstitutions", {})).items():
                text = text.replace("${" + key + "}", str(value))
            specs.append(StateMachineSpec(logical_id=logical_id, name=self.physical_name(logical_id),
                                          arn=self.arn(logical_id), definition=text))
        return specs
