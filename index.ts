/**
 * The stack entry: config -> components -> exports. Everything the stack makes is a child
 * of one of the components below, and every AWS resource carries the stack's tags through
 * the provider's default tags.
 */
import * as aws from "@pulumi/aws";
import { Network } from "./components/network";
import { ENGINES } from "./config/database";
import { loadConfig } from "./config";

const config = loadConfig();

const provider = new aws.Provider("aws", { region: config.region as aws.Region, defaultTags: { tags: config.tags } });

const network = new Network(
    "network",
    {
        cidrBlock: config.network.vpcCidr,
        azCount: config.network.azCount,
        natGateways: config.network.natGateways,
        subnetMasks: config.network.subnetMasks,
        interfaceEndpoints: config.network.interfaceEndpoints,
        interfaceEndpointAzCount: config.network.interfaceEndpointAzCount,
        flowLogs: config.network.flowLogs,
        appPort: config.webTier.appPort,
        databasePort: ENGINES[config.database.engine].port,
    },
    { providers: [provider] },
);

export const environment = config.environment;
export const region = config.region;
export const vpcId = network.vpcId;
export const publicSubnetIds = network.publicSubnetIds;
export const privateSubnetIds = network.privateSubnetIds;
export const isolatedSubnetIds = network.isolatedSubnetIds;
export const privateRouteTableIds = network.privateRouteTableIds;
export const s3EndpointId = network.s3EndpointId;
