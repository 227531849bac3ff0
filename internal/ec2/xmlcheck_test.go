package ec2

// Every answer the tests get is also rendered by encoding/xml and compared.
func init() { verifyXML = true }
