"""The canonical record model: Talaia's own shape of incidents, offences, victims, perpetrators
and custody records (ICCS event / victim / perpetrator model), as Arrow schemas, with the
controlled vocabularies of the ICCS disaggregating variables. Pure: no I/O."""
