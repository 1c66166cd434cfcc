from registry_stub.cli import main

raise SystemExit(main())
