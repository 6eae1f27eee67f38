from churnkit.cli import main

main()
