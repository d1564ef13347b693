from hwopt.cli import main

raise SystemExit(main())
