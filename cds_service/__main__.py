from cds_service.cli.mr_cds import main

raise SystemExit(main())
