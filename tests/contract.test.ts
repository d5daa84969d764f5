// The chart's values.schema.json is the contract of an app's settings (components/appSchema.ts).
// The TypeScript unions the program is typed with must name exactly the schema's values.
import * as assert from "assert";
import * as config from "../components/config";
import { APP_KEYS, APP_SCHEMA, PROGRAM_FILLED_KEYS } from "../components/appSchema";
import { RESERVED_ENV } from "../components/env";

const props = APP_SCHEMA.properties;

describe("values.schema.json is the one contract", () => {
    it("the TypeScript enums are the schema's enums", () => {
        assert.deepStrictEqual([...config.IMAGE_PULL_POLICIES], props.imagePullPolicy.enum);
        assert.deepStrictEqual([...config.POD_MANAGEMENT_POLICIES], props.podManagementPolicy.enum);
        assert.deepStrictEqual([...config.UPDATE_STRATEGY_TYPES], props.updateStrategy.properties.type.enum);
        assert.deepStrictEqual([...config.ACCESS_MODES], props.accessModes.items.enum);
        assert.deepStrictEqual([...config.RETENTION_ACTIONS], APP_SCHEMA.definitions.retentionAction.enum);
        assert.deepStrictEqual([...config.POD_ANTI_AFFINITY_PRESETS], props.podAntiAffinityPreset.enum);
        assert.deepStrictEqual([...config.RESOURCE_NAMES], Object.keys(APP_SCHEMA.definitions.resourceList.properties));
        assert.deepStrictEqual([...RESERVED_ENV], props.env.propertyNames.not.enum);
        assert.deepStrictEqual([...RESERVED_ENV], props.secretEnvNames.items.not.enum);
    });

    it("the settings a user may set are the schema's properties minus the program-filled ones", () => {
        assert.deepStrictEqual([...APP_KEYS, ...PROGRAM_FILLED_KEYS], Object.keys(props));
    });
});
